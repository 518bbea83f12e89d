/**
 * A transport under an EventStream: a node:http response, an HTTP/2 stream or the body of a
 * Fetch Response. The EventStream decides what to write and when; the sink only moves bytes
 * and reports back through its {@link SinkListener}.
 */
export interface Sink {
  /** Hands bytes to the transport. False when it holds enough: write no more until `onSinkDrain`. */
  write(chunk: Uint8Array): boolean;
  /** Bytes the transport holds that the peer has not taken yet. */
  readonly bufferedBytes: number;
  /** True when the peer was already gone as the sink was opened. */
  readonly gone: boolean;
  /** Ends the response after what was written (see {@link CLOSE_GRACE_MS}). */
  end(): void;
  /** Tears the response down at once, dropping whatever is buffered. */
  destroy(): void;
}

export interface SinkListener {
  /** The transport took what it held: writing may go on. */
  onSinkDrain(): void;
  /** The transport closed: the peer left, the stream was reset, or the response ended. */
  onSinkClose(): void;
}

/**
 * How long an ended response may take to hand its last bytes to a peer that reads slowly.
 * A peer that has stopped reading would otherwise hold the socket and its buffer forever.
 */
export const CLOSE_GRACE_MS = 30_000;

let lingering = 0;

/** Responses ended by the server whose peer has not taken the last bytes yet. */
export function lingeringSinks(): number {
  return lingering;
}

/**
 * Starts the grace period of an ended response that still holds bytes: `destroy` runs if the
 * transport has not closed by then. Returns the function that cancels it (call it on close).
 */
export function startCloseGrace(destroy: () => void): () => void {
  lingering++;
  const timer = setTimeout(destroy, CLOSE_GRACE_MS);
  // A response in its grace period must not keep the process alive on its own.
  if (typeof timer === 'object') timer.unref?.();
  let cancelled = false;
  return () => {
    if (cancelled) return;
    cancelled = true;
    lingering--;
    clearTimeout(timer);
  };
}
