import type { Transform } from 'node:stream';
import { type Sink, type SinkListener, startCloseGrace } from './sink.js';

/** What the sink needs of a node:http response, an http2 compat response or an HTTP/2 stream. */
export interface NodeWritable {
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  destroy(): unknown;
  readonly writableLength: number;
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

/** How the sink differs between transports: a bit set. */
export const NodeSinkFlags = {
  None: 0,
  /** Middleware (Express `compression`) patched `res.flush()` and holds bytes until it is called. */
  FlushAfterWrite: 1,
  /** A core `ServerHttp2Stream`: torn down with RST_STREAM CANCEL instead of `destroy()`. */
  Http2Stream: 2,
} as const;

// RFC 9113 §7: "CANCEL (0x08): Used by the endpoint to indicate that the stream is no longer
// needed." Written out so that this module does not load node:http2.
const NGHTTP2_CANCEL = 8;

const kSink = Symbol('tidings.sink');
type Tagged = { [kSink]?: NodeSink };

// Listeners are shared functions that find their sink through a symbol on the emitter, so an
// open stream costs no closures (Node calls listeners with `this` set to the emitter).
function onDrain(this: Tagged): void {
  this[kSink]?.listener.onSinkDrain();
}
function onClose(this: Tagged): void {
  this[kSink]?.release();
}
function onCompressorError(this: Tagged): void {
  this[kSink]?.destroy();
}
// Every error is followed by 'close', which does the work. Without a listener, an error such
// as an HTTP/2 stream reset by the client would be thrown as an uncaught exception.
function ignoreError(): void {}

/**
 * The sink over a Node writable: a node:http `ServerResponse`, a node:http2 compatibility
 * `Http2ServerResponse` or a core `ServerHttp2Stream`, whose head the binding has sent. With
 * compression, bytes go through a zlib stream that flushes after every write and is piped
 * into the response.
 */
export class NodeSink implements Sink {
  readonly listener: SinkListener;
  readonly gone: boolean;
  readonly #target: NodeWritable;
  readonly #compressor: Transform | undefined;
  readonly #flags: number;
  #cancelGrace: (() => void) | undefined;
  #released: boolean;

  constructor(
    target: NodeWritable,
    listener: SinkListener,
    compressor: Transform | undefined,
    flags: number,
    gone: boolean,
  ) {
    this.listener = listener;
    this.gone = gone;
    this.#target = target;
    this.#compressor = compressor;
    this.#flags = flags;
    this.#released = gone;
    if (gone) {
      compressor?.destroy();
      return;
    }
    (target as unknown as Tagged)[kSink] = this;
    target.on('close', onClose);
    target.on('error', ignoreError);
    if (compressor === undefined) {
      target.on('drain', onDrain);
    } else {
      (compressor as unknown as Tagged)[kSink] = this;
      compressor.on('drain', onDrain);
      compressor.on('error', onCompressorError);
      compressor.pipe(target as unknown as NodeJS.WritableStream);
    }
  }

  write(chunk: Uint8Array): boolean {
    const compressor = this.#compressor;
    const accepted = compressor === undefined ? this.#target.write(chunk) : compressor.write(chunk);
    if (this.#flags & NodeSinkFlags.FlushAfterWrite) {
      (this.#target as unknown as { flush(): void }).flush();
    }
    return accepted;
  }

  get bufferedBytes(): number {
    const compressor = this.#compressor;
    const own = this.#target.writableLength ?? 0;
    return compressor === undefined
      ? own
      : own + compressor.writableLength + compressor.readableLength;
  }

  end(): void {
    if (this.#released) return;
    const compressor = this.#compressor;
    if (compressor === undefined) this.#target.end();
    else compressor.end(); // the pipe ends the response once the compressor has flushed
    if (this.bufferedBytes > 0) this.#cancelGrace = startCloseGrace(() => this.destroy());
  }

  destroy(): void {
    if (this.#released) return;
    this.#compressor?.destroy();
    if (this.#flags & NodeSinkFlags.Http2Stream) {
      (this.#target as unknown as { close(code: number): void }).close(NGHTTP2_CANCEL);
    } else {
      this.#target.destroy();
    }
  }

  /** The transport closed: drop every listener and reference, then tell the stream. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#cancelGrace?.();
    const target = this.#target;
    target.off('close', onClose);
    target.off('error', ignoreError);
    const compressor = this.#compressor;
    if (compressor === undefined) {
      target.off('drain', onDrain);
    } else {
      compressor.unpipe(target as unknown as NodeJS.WritableStream);
      compressor.off('drain', onDrain);
      compressor.off('error', onCompressorError);
      compressor.destroy();
      delete (compressor as unknown as Tagged)[kSink];
    }
    delete (target as unknown as Tagged)[kSink];
    this.listener.onSinkClose();
  }
}
