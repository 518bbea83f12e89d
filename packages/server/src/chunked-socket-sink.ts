import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { frameChunk } from './shared-batch.js';
import { type Sink, type SinkListener, startCloseGrace } from './sink.js';

const kSink = Symbol('tidings.chunkedSocketSink');
type Tagged = { [kSink]?: ChunkedSocketSink };

/** The last-chunk and an empty trailer section: the end of a chunked body (RFC 9112 §7.1). */
const LAST_CHUNK = new Uint8Array([0x30, 0x0d, 0x0a, 0x0d, 0x0a]);

// Listeners are shared functions that find their sink through a symbol on the emitter, so an
// open stream costs no closures (Node calls listeners with `this` set to the emitter).
function onSocketDrain(this: Tagged): void {
  this[kSink]?.listener.onSinkDrain();
}
function onOwnerClose(this: Tagged): void {
  this[kSink]?.release();
}
// Every error is followed by 'close', which does the work.
function ignoreError(): void {}
// What a client sends on a connection the stream owns: an event stream is the last response
// of its connection, so there is no next request to read (see the class comment).
function discard(): void {}

/** What a response must look like for its body to be written straight to its socket. */
interface DirectCandidate {
  readonly socket: (Socket & { _httpMessage?: unknown }) | null;
  readonly chunkedEncoding?: boolean;
}

/**
 * The socket under a node:http response whose body may be written to it directly, or
 * undefined when the body must go through `res.write`. Call it after the head was sent.
 *
 * Direct writes need all of:
 * - chunked transfer coding (HTTP/1.1): HTTP/1.0, a fixed Content-Length or a status without
 *   a body have other framing rules, which node:http keeps;
 * - the response being the one its socket is serving now: a pipelined response waiting for
 *   the one before it has no socket yet (node:http queues its bytes);
 * - nothing left in the response's own buffer, so our bytes go out after the head;
 * - `write` and `end` not wrapped on the response: middleware that patches them (Express
 *   `compression`, byte counters in loggers) must see every byte.
 */
export function directSocket(res: ServerResponse): Socket | undefined {
  const candidate = res as unknown as DirectCandidate;
  const socket = candidate.socket;
  if (socket === null || socket === undefined) return undefined;
  if (candidate.chunkedEncoding !== true) return undefined;
  if (socket._httpMessage !== res || socket.destroyed || !socket.writable) return undefined;
  if (res.writableLength !== socket.writableLength) return undefined;
  if (Object.hasOwn(res, 'write') || Object.hasOwn(res, 'end')) return undefined;
  return socket;
}

/**
 * The sink of an HTTP/1.1 event stream after its head: each write is one HTTP/1.1 chunk
 * written straight to the socket, with no trip through `ServerResponse.write` (its cork
 * until the next tick, its header checks, its three writes per chunk). A broadcast's chunk is
 * framed once per turn and the same bytes go to every socket (see shared-batch.ts).
 * Backpressure is the socket's: its `write` return value, its buffered bytes, its 'drain'.
 *
 * Who owns the connection decides how the stream ends:
 * - a node:http response (`EventStream.fromNode`): `end()` is `res.end()`, which writes the
 *   last chunk after ours and hands a keep-alive connection back to node:http for the next
 *   request; the response's 'close' means the stream is over, whichever side ended it;
 * - nobody else (`EventStream.fromSocket`, a connection whose request head the caller read
 *   itself): the stream is the connection's last response. `end()` writes the last chunk
 *   and ends the connection; the socket's 'close' means the stream is over; what the client
 *   sends meanwhile is read and dropped, so that its leaving is seen at once.
 */
export class ChunkedSocketSink implements Sink {
  readonly listener: SinkListener;
  readonly gone = false;
  readonly #response: ServerResponse | undefined;
  readonly #socket: Socket;
  #cancelGrace: (() => void) | undefined;
  #released = false;

  /** `response`: the node:http response that owns the connection; none when the stream does. */
  constructor(socket: Socket, listener: SinkListener, response?: ServerResponse) {
    this.listener = listener;
    this.#response = response;
    this.#socket = socket;
    const owner = response ?? socket;
    (owner as unknown as Tagged)[kSink] = this;
    (socket as unknown as Tagged)[kSink] = this;
    owner.on('close', onOwnerClose);
    owner.on('error', ignoreError);
    socket.on('drain', onSocketDrain);
    if (response === undefined) {
      socket.on('data', discard);
      socket.resume();
    }
  }

  write(chunk: Uint8Array): boolean {
    const socket = this.#socket;
    // An empty chunk would be the last-chunk, ending the body: there is nothing to send.
    if (chunk.byteLength === 0) return !socket.writableNeedDrain;
    return socket.write(frameChunk(chunk));
  }

  get bufferedBytes(): number {
    return this.#released ? 0 : this.#socket.writableLength;
  }

  end(): void {
    if (this.#released) return;
    if (this.#response === undefined) this.#socket.end(LAST_CHUNK);
    else this.#response.end();
    if (this.bufferedBytes > 0) this.#cancelGrace = startCloseGrace(() => this.destroy());
  }

  destroy(): void {
    if (this.#released) return;
    (this.#response ?? this.#socket).destroy();
  }

  /** The owner closed: drop every listener and reference, then tell the stream. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#cancelGrace?.();
    const socket = this.#socket;
    const owner = this.#response ?? socket;
    owner.off('close', onOwnerClose);
    owner.off('error', ignoreError);
    socket.off('drain', onSocketDrain);
    if (owner !== socket) {
      delete (owner as unknown as Tagged)[kSink];
    } else {
      socket.off('data', discard);
    }
    // A keep-alive socket may already carry the next response's stream: leave its tag alone.
    if ((socket as unknown as Tagged)[kSink] === this) delete (socket as unknown as Tagged)[kSink];
    this.listener.onSinkClose();
  }
}
