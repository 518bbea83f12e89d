import { type Server as Http1Server, maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { answerClientError, type ClientErrorLimits } from './client-error.js';
import { parseRequestHead, type RequestHead } from './request-head.js';

/** A connection's first request, offered to a route that may answer it without node:http. */
export interface FirstRequest {
  readonly head: RequestHead;
  /**
   * The route answers the request itself: the connection is the route's from now on, and
   * node:http never sees it. Call it just before writing the response head.
   */
  take(): Socket;
  /**
   * node:http answers the request after all, as if it had read the connection from the
   * start (every byte read so far goes to it). Does nothing once the client has left.
   */
  handBack(): void;
}

/** Reads {@link FirstRequest.head}: it must call `take` or `handBack` once, now or later. */
export type DirectRoute = (request: FirstRequest) => void;

/** Which first requests are offered to the route, and how to answer a head that is late. */
export interface DirectRouting {
  readonly route: DirectRoute;
  /** Only `GET` requests for this path (with any query) are offered. */
  readonly path: string;
  /** The limits named in the answer to a head that does not arrive in time. */
  readonly limits: ClientErrorLimits;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const NO_BYTES = Buffer.alloc(0);

function timeoutError(): Error {
  return Object.assign(new Error('request head not complete in time'), {
    code: 'ERR_HTTP_REQUEST_TIMEOUT',
  });
}

/**
 * Reads the head of each new connection's first request and offers it to a direct route
 * (the hub's subscribe route) when it is a plain HTTP/1.1 request (`request-head.ts`); every
 * other connection, and every request the route declines, goes to node:http with the bytes
 * read. A stream answered by the route keeps no node:http request, response or parser: what
 * an idle subscriber costs is the socket and the hub's own state.
 *
 * Limits while reading: the head must arrive within `headersTimeoutMs` (else 408, as
 * node:http answers) and within node:http's `maxHeaderSize` (else node:http reads it, and
 * answers 431). Only the first request of a connection is offered: later requests on a
 * keep-alive connection are node:http's.
 */
export class FirstRequestReader {
  readonly #http1: Http1Server;
  readonly #route: DirectRoute;
  readonly #limits: ClientErrorLimits;
  /** The start of an offered request line: `GET /path`, then a space or `?`. */
  readonly offeredPrefix: Buffer;
  /** Connections whose first head is still arriving or being decided on. */
  readonly #arriving = new Map<Socket, Arrival>();
  /**
   * Connections node:http never saw and that are still open: taken by the route, or answered
   * here (408). Cut by {@link closeAll}, as node:http cuts its own.
   */
  readonly #held = new Set<Socket>();
  readonly #forgetHeld: (this: Socket) => void;

  constructor(http1: Http1Server, routing: DirectRouting) {
    this.#http1 = http1;
    this.#route = routing.route;
    this.#limits = routing.limits;
    this.offeredPrefix = Buffer.from(`GET ${routing.path}`, 'latin1');
    const held = this.#held;
    // One listener for every held connection (Node calls it with `this` set to the socket).
    this.#forgetHeld = function (this: Socket) {
      held.delete(this);
    };
  }

  /** Starts reading a new connection; `seen`: bytes already read from it (by a preface sniffer). */
  read(socket: Socket, seen: Buffer = NO_BYTES): void {
    const arrival = new Arrival(this, socket, seen, this.#limits.headersTimeoutMs);
    this.#arriving.set(socket, arrival);
    arrival.examine();
  }

  /** Shutdown: closes the connections that have sent nothing yet. */
  closeIdle(): void {
    for (const arrival of this.#arriving.values()) arrival.closeIfSilent();
  }

  /** Cuts every connection this reader holds or handed to the route. */
  closeAll(): void {
    for (const socket of this.#arriving.keys()) socket.destroy();
    for (const socket of this.#held) socket.destroy();
  }

  /** @internal */
  offer(arrival: Arrival, head: RequestHead): void {
    this.#route({
      head,
      take: () => arrival.take(),
      handBack: () => arrival.handBack(),
    });
  }

  /** @internal */
  settle(socket: Socket, outcome: Outcome, bytes: Buffer): void {
    this.#arriving.delete(socket);
    switch (outcome) {
      case 'taken':
        this.#hold(socket);
        return;
      case 'handed':
        // node:http may read the socket natively, past the stream's buffer: the bytes already
        // read are given to it as the 'data' they were.
        this.#http1.emit('connection', socket);
        if (bytes.length > 0) socket.emit('data', bytes);
        return;
      case 'timed-out':
        // Answered here, so guarded here as node:http guards its own: a reset while the 408
        // is on its way must not be an unhandled 'error', and a peer that never closes its
        // side is cut at the shutdown deadline or after a last grace.
        this.#hold(socket);
        socket.on('error', destroyOnError);
        setTimeout(destroyUnlessClosed, CLOSE_AFTER_REFUSAL_MS, socket).unref();
        answerClientError(timeoutError(), socket, this.#limits);
        return;
      case 'gone':
        return;
    }
  }

  #hold(socket: Socket): void {
    this.#held.add(socket);
    socket.once('close', this.#forgetHeld);
  }
}

type Outcome = 'taken' | 'handed' | 'gone' | 'timed-out';

/** How long a connection answered with 408 may take to close before it is cut. */
const CLOSE_AFTER_REFUSAL_MS = 5000;

function destroyOnError(this: Socket): void {
  this.destroy();
}

function destroyUnlessClosed(socket: Socket): void {
  if (!socket.destroyed) socket.destroy();
}

/** One connection while its first head arrives and the route decides on it. */
class Arrival {
  readonly #reader: FirstRequestReader;
  readonly #socket: Socket;
  /** What arrived: `#length` bytes of `#buffer` (the first chunk itself, then a copy that grows). */
  #buffer: Buffer;
  #length: number;
  /** Bytes already searched for the end of the head and for a bare LF. */
  #scanned = 0;
  #state: 'reading' | 'offered' | 'settled' = 'reading';
  readonly #timer: NodeJS.Timeout;
  readonly #onData = (chunk: Buffer) => this.#received(chunk);
  // A client that stops sending (FIN) or fails before its request is answered has left.
  readonly #onEnd = () => this.#socket.destroy();
  readonly #onClose = () => this.#settle('gone');

  constructor(reader: FirstRequestReader, socket: Socket, seen: Buffer, timeoutMs: number) {
    this.#reader = reader;
    this.#socket = socket;
    this.#buffer = seen;
    this.#length = seen.length;
    this.#timer = setTimeout(() => this.#timedOut(), timeoutMs);
    this.#timer.unref();
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onEnd);
    socket.on('close', this.#onClose);
  }

  /** Looks for the end of the head in what has arrived; offers it, or hands the connection off. */
  examine(): void {
    const length = this.#length;
    if (length === 0) return;
    const bytes = this.#buffer.subarray(0, length);
    // Any other request goes to node:http as soon as its request line shows it, often with
    // its body not read yet: a publisher's connection costs one look at its first line.
    if (!this.#offeredRequestLine(bytes)) {
      this.handBack();
      return;
    }
    // Only what arrived since the last look is searched (from 3 bytes back, where a CRLFCRLF
    // split between reads begins), so a head sent a byte at a time costs linear work.
    const end = bytes.indexOf(HEAD_END, Math.max(0, this.#scanned - 3));
    const headLength = end === -1 ? length : end + HEAD_END.length;
    // A line ended by a bare LF: node:http's to answer (it refuses it at once).
    const bareLf = hasBareLf(bytes, this.#scanned, headLength);
    this.#scanned = length;
    if (bareLf) {
      this.handBack();
      return;
    }
    if (end === -1) {
      if (length > maxHeaderSize) this.handBack();
      return;
    }
    // Bytes after the head are a body or a pipelined request: node:http's to read. A head
    // longer than node:http takes is its too (431), however it arrived: in one read, or with
    // its end in a later one.
    const head =
      headLength === length && headLength <= maxHeaderSize
        ? parseRequestHead(bytes, this.#socket)
        : undefined;
    if (head === undefined) {
      this.handBack();
      return;
    }
    this.#state = 'offered';
    clearTimeout(this.#timer);
    this.#reader.offer(this, head);
  }

  /** False once the request line is known not to be one the route is offered. */
  #offeredRequestLine(bytes: Buffer): boolean {
    const prefix = this.#reader.offeredPrefix;
    const compared = Math.min(bytes.length, prefix.length);
    if (bytes.compare(prefix, 0, compared, 0, compared) !== 0) return false;
    // A request line split across reads: what came so far could still be one.
    if (bytes.length <= prefix.length) return true;
    const next = bytes[prefix.length];
    return next === 0x20 || next === 0x3f;
  }

  take(): Socket {
    if (this.#state !== 'offered') throw new Error('this connection was already settled');
    this.#settle('taken');
    return this.#socket;
  }

  handBack(): void {
    if (this.#state === 'settled') return;
    this.#settle(this.#socket.destroyed ? 'gone' : 'handed');
  }

  closeIfSilent(): void {
    if (this.#length === 0) this.#socket.destroy();
  }

  #received(chunk: Buffer): void {
    this.#append(chunk);
    if (this.#state === 'reading') this.examine();
    // While the route decides, more bytes are kept for node:http in case it hands back; a
    // client that sends that much before its answer is not waiting for an event stream.
    else if (this.#length > 2 * maxHeaderSize) this.#socket.destroy();
  }

  /** Keeps `chunk` after what arrived: the first chunk as it is, later ones in a doubling copy. */
  #append(chunk: Buffer): void {
    const length = this.#length;
    if (length === 0) {
      this.#buffer = chunk;
      this.#length = chunk.length;
      return;
    }
    const needed = length + chunk.length;
    if (this.#buffer.length < needed) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * length, 1024));
      this.#buffer.copy(grown, 0, 0, length);
      this.#buffer = grown;
    }
    chunk.copy(this.#buffer, length);
    this.#length = needed;
  }

  #timedOut(): void {
    if (this.#state !== 'reading') return;
    this.#settle('timed-out');
  }

  #settle(outcome: Outcome): void {
    if (this.#state === 'settled') return;
    this.#state = 'settled';
    clearTimeout(this.#timer);
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('error', this.#onEnd);
    socket.off('close', this.#onClose);
    const bytes = this.#buffer.subarray(0, this.#length);
    this.#buffer = NO_BYTES;
    this.#length = 0;
    this.#reader.settle(socket, outcome, bytes);
  }
}

/** Whether an LF not preceded by CR is in `bytes[from, to)`. */
function hasBareLf(bytes: Buffer, from: number, to: number): boolean {
  let lf = bytes.indexOf(0x0a, from);
  while (lf !== -1 && lf < to) {
    if (lf === 0 || bytes[lf - 1] !== 0x0d) return true;
    lf = bytes.indexOf(0x0a, lf + 1);
  }
  return false;
}
