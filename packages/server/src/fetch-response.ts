import type { Transform } from 'node:stream';
import { createCompressor, negotiateCoding } from './compression.js';
import type { Sink, SinkListener } from './sink.js';
import { sseHeaders } from './sse-headers.js';
import type { StreamConfig } from './stream-config.js';

// The body's buffer is measured in bytes (not chunks), so a large event counts for what it weighs.
const byteLength = (chunk: Uint8Array): number => chunk.byteLength;

const kSink = Symbol('tidings.sink');
type Tagged = { [kSink]?: FetchSink };

function onCompressedData(this: Tagged, chunk: Uint8Array): void {
  this[kSink]?.enqueue(chunk);
}
function onCompressorDrain(this: Tagged): void {
  this[kSink]?.pull();
}
function onCompressorEnd(this: Tagged): void {
  this[kSink]?.finishEnd();
}
function onCompressorError(this: Tagged): void {
  this[kSink]?.destroy();
}

/**
 * An event stream as the body of a Fetch `Response` (Hono, Bun, Deno, edge runtimes, Next.js
 * route handlers). The sink is the body's underlying source itself: `pull` is the runtime
 * asking for more (the drain signal), `cancel` is the runtime giving up on the body (the
 * client left). The request's `signal` aborting means the same.
 */
export class FetchSink implements Sink, UnderlyingDefaultSource<Uint8Array> {
  readonly response: Response;
  readonly gone: boolean;
  readonly #listener: SinkListener;
  readonly #signal: AbortSignal;
  readonly #compressor: Transform | undefined;
  /** Bytes the body holds before it reports backpressure. */
  readonly #highWaterMark: number;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #wantsDrain = false;
  #released = false;

  constructor(request: Request, config: StreamConfig, listener: SinkListener) {
    this.#listener = listener;
    this.#signal = request.signal;
    this.#highWaterMark = config.highWaterMark;
    this.gone = request.signal.aborted;
    const coding = config.compression
      ? negotiateCoding(request.headers.get('accept-encoding'))
      : undefined;
    const compressor = coding !== undefined && !this.gone ? createCompressor(coding) : undefined;
    this.#compressor = compressor;
    const headers = sseHeaders(
      'unknown',
      config.headers,
      compressor === undefined ? undefined : coding,
      config.compression,
    );
    this.response = new Response(
      new ReadableStream<Uint8Array>(this, {
        highWaterMark: config.highWaterMark,
        size: byteLength,
      }),
      {
        status: config.status,
        headers,
      },
    );
    if (this.gone) {
      this.#released = true;
      this.#controller.close();
      return;
    }
    this.#signal.addEventListener('abort', this);
    if (compressor !== undefined) {
      (compressor as unknown as Tagged)[kSink] = this;
      compressor.on('data', onCompressedData);
      compressor.on('drain', onCompressorDrain);
      compressor.on('end', onCompressorEnd);
      compressor.on('error', onCompressorError);
    }
    if (config.retryChunk !== undefined) this.write(config.retryChunk);
  }

  // UnderlyingDefaultSource: called by the ReadableStream.

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
  }

  pull(): void {
    if (!this.#wantsDrain || this.#released) return;
    this.#wantsDrain = false;
    this.#listener.onSinkDrain();
  }

  cancel(): void {
    this.release();
  }

  /** The request's signal aborted (EventTarget listener object: no closure per stream). */
  handleEvent(): void {
    this.release();
  }

  // Sink

  write(chunk: Uint8Array): boolean {
    if (this.#released) return false;
    const compressor = this.#compressor;
    if (compressor === undefined) {
      if (!this.enqueue(chunk)) return false;
    } else if (!compressor.write(chunk)) {
      this.#wantsDrain = true;
      return false;
    }
    if ((this.#controller.desiredSize ?? 0) > 0) return true;
    this.#wantsDrain = true;
    return false;
  }

  get bufferedBytes(): number {
    const queued = this.#released ? 0 : this.#highWaterMark - (this.#controller.desiredSize ?? 0);
    const compressor = this.#compressor;
    return compressor === undefined
      ? queued
      : queued + compressor.writableLength + compressor.readableLength;
  }

  end(): void {
    if (this.#released) return;
    if (this.#compressor === undefined) this.finishEnd();
    else this.#compressor.end(); // its 'end' closes the body once the last bytes are out
  }

  destroy(): void {
    if (this.#released) return;
    this.#controller.error(new Error('event stream torn down by the server'));
    this.release();
  }

  /** Puts bytes into the body; false (and the sink released) once the body is gone. */
  enqueue(chunk: Uint8Array): boolean {
    try {
      this.#controller.enqueue(chunk);
      return true;
    } catch {
      // The body was cancelled or errored between the runtime's last read and this write.
      this.release();
      return false;
    }
  }

  finishEnd(): void {
    if (this.#released) return;
    try {
      this.#controller.close();
    } catch {
      // Already cancelled by the runtime: nothing left to close.
    }
    this.release();
  }

  /** Drops every listener and reference, then tells the stream (which ignores it if it closed first). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#signal.removeEventListener('abort', this);
    const compressor = this.#compressor;
    if (compressor !== undefined) {
      compressor.off('data', onCompressedData);
      compressor.off('drain', onCompressorDrain);
      compressor.off('end', onCompressorEnd);
      compressor.off('error', onCompressorError);
      compressor.destroy();
      delete (compressor as unknown as Tagged)[kSink];
    }
    this.#listener.onSinkClose();
  }
}
