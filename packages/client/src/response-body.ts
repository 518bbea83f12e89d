import type { Clock } from './clock.js';

/**
 * Reads a response body one chunk of bytes at a time, whatever the fetch that made it: a
 * WHATWG `ReadableStream` (fetch in browsers, Node, Deno, Bun), or an async iterable of
 * bytes, which is what node-fetch 2 gives (a Node `Readable` of `Buffer`s).
 */
export interface BodyReader {
  /** The next chunk, or `undefined` at the end. Rejects when the connection breaks. */
  read(): Promise<Uint8Array | undefined>;
  /** Stops reading and lets the body go. Never throws. */
  cancel(): void;
}

/** A body chunk that is not bytes: the fetch behind the response is broken, not the network. */
export class NotBytesError extends Error {
  override readonly name = 'NotBytesError';
}

/** Does the body have a shape {@link readBody} can read? `null` (no body) is handled apart. */
export function isReadableBody(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    (typeof (body as ReadableStream).getReader === 'function' ||
      typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

/**
 * A reader for a body that {@link isReadableBody} accepted. `signal` is the request's: when
 * it aborts, a pending read ends, even for a body that does not hear the abort (a mock's).
 */
export function readBody(body: object, signal: AbortSignal): BodyReader {
  if (typeof (body as ReadableStream).getReader === 'function') {
    return streamReader(body as ReadableStream<unknown>, signal);
  }
  return iterableReader(body as AsyncIterable<unknown>, signal);
}

function streamReader(stream: ReadableStream<unknown>, signal: AbortSignal): BodyReader {
  const reader = stream.getReader();
  // fetch's own body errors when its request aborts; one a mock made may not. Cancelling
  // ends a pending read either way.
  const cancel = () => void reader.cancel().catch(ignore);
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
  return {
    async read() {
      const { done, value } = await reader.read();
      return done ? undefined : toBytes(value);
    },
    cancel,
  };
}

function iterableReader(iterable: AsyncIterable<unknown>, signal: AbortSignal): BodyReader {
  const iterator = iterable[Symbol.asyncIterator]();
  // One promise for the whole body, raced with each read: an abort ends a pending read.
  const aborted = new Promise<IteratorResult<unknown>>((resolve) => {
    if (signal.aborted) resolve({ done: true, value: undefined });
    else signal.addEventListener('abort', () => resolve({ done: true, value: undefined }));
  });
  return {
    async read() {
      const { done, value } = await Promise.race([iterator.next(), aborted]);
      return done ? undefined : toBytes(value);
    },
    cancel() {
      // A Node Readable's iterator destroys the stream (and its socket) on return().
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(ignore);
    },
  };
}

const encoder = new TextEncoder();

/**
 * Bytes as the parser takes them. Strings (from hand-made streams) are encoded as UTF-8, the
 * only encoding an event stream has; anything else is refused with what it was.
 */
function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) {
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  throw new NotBytesError(
    `the response body gave a chunk that is not bytes (${describeValue(chunk)})`,
  );
}

/** "a string", "undefined", "an object (Foo)": what a value was, for an error message. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `an object (${name})` : 'an object';
  }
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** Reads up to 1 KiB of an error response as text, for the message, then lets it go. */
export async function readSnippet(
  body: unknown,
  signal: AbortSignal,
  clock: Clock,
): Promise<string> {
  if (!isReadableBody(body)) return '';
  const reader = readBody(body as object, signal);
  const chunks: Uint8Array[] = [];
  let size = 0;
  // A server that sends headers and then nothing must not hang the error report.
  let timedOut = false;
  let timer: unknown;
  const timeout = new Promise<undefined>((resolve) => {
    timer = clock.setTimeout(() => {
      timedOut = true;
      resolve(undefined);
    }, 2000);
  });
  try {
    while (size < 1024 && !timedOut) {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk === undefined) break;
      chunks.push(chunk);
      size += chunk.byteLength;
    }
  } catch {
    // Whatever arrived is enough for a message.
  } finally {
    clock.clearTimeout(timer);
    reader.cancel();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes.subarray(0, 1024));
}

/** Lets a body that will not be read go, whatever its shape. */
export function discardBody(body: unknown): void {
  if (!isReadableBody(body)) return;
  if (typeof (body as ReadableStream).cancel === 'function') {
    void Promise.resolve()
      .then(() => (body as ReadableStream).cancel())
      .catch(ignore);
  } else if (typeof (body as { destroy?: unknown }).destroy === 'function') {
    (body as { destroy(): void }).destroy();
  }
}

function ignore(): void {}
