import type { Server as Http1Server, IncomingMessage, ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server,
  type Socket,
} from 'node:net';
import { createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { type DirectRouting, FirstRequestReader } from './first-request.js';
import { dropHopByHopHeaders } from './hop-by-hop.js';
import type { TlsCredentials } from './tls-credentials.js';

/**
 * How a hub listener speaks: plain HTTP/1.1 (the default), HTTPS with HTTP/2 and HTTP/1.1
 * offered by ALPN (`tls`), or cleartext HTTP/2 next to HTTP/1.1 (`h2c`), for a proxy that
 * terminates TLS and speaks HTTP/2 to its upstreams (Envoy, Caddy, HAProxy).
 */
export type ListenSecurity = { tls: TlsCredentials } | { h2c: true };

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4), and of no HTTP/1 request. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * One address the hub serves. The hub's HTTP/1 server (with its timeouts and its answers to
 * malformed requests) is where HTTP/1.1 is spoken, but for one case: with a direct route,
 * each connection's first request head is read here and a plain subscribe request is
 * answered by the route itself (first-request.ts), everything else goes to node:http. With
 * TLS, the sockets that chose `http/1.1` by ALPN take the same way; HTTP/2 sessions go to a
 * node:http2 server (never listening itself) whose compatibility requests reach the same
 * handler.
 *
 * Browsers open at most 6 HTTP/1.1 connections to an origin, so a page with more event
 * streams stalls; over HTTP/2 all of them share one connection.
 */
export class HubListener {
  /** The HTTP/1 server every HTTP/1.1 request goes through, unless a direct route takes it. */
  readonly http1: Http1Server;
  /** What listens on the address: `http1` itself without TLS, h2c or a direct route. */
  readonly outer: Server;
  readonly #http2: Http2Server | undefined;
  readonly #firstRequests: FirstRequestReader | undefined;
  readonly #sessions = new Set<Http2Session>();
  readonly #idleTimers = new Map<Http2Session, NodeJS.Timeout>();
  readonly #openStreams = new Map<Http2Session, number>();
  #closing = false;

  /**
   * `direct`: a route that may answer a connection's first HTTP/1.1 request itself, from the
   * head read here (first-request.ts), so that node:http keeps nothing for it.
   */
  constructor(
    http1: Http1Server,
    handler: Handler,
    security?: ListenSecurity,
    direct?: DirectRouting,
  ) {
    this.http1 = http1;
    const firstRequests = direct === undefined ? undefined : new FirstRequestReader(http1, direct);
    this.#firstRequests = firstRequests;
    // Where an HTTP/1.1 connection goes once its protocol is known.
    const http1Connection = (socket: Socket, seen?: Buffer) => {
      if (firstRequests !== undefined) firstRequests.read(socket, seen);
      else {
        // node:http may read the socket natively, past the stream's buffer: the bytes
        // already read are given to it as the 'data' they were.
        http1.emit('connection', socket);
        if (seen !== undefined) socket.emit('data', seen);
      }
    };
    if (security === undefined && firstRequests === undefined) {
      this.outer = http1;
      return;
    }
    // node:http tracks connections (for headersTimeout and closeIdleConnections) from its
    // 'listening' event on; this server never listens itself, so it is told it does.
    http1.emit('listening');
    if (security === undefined) {
      // As node:http's own server: events and answers leave at once, without Nagle's delay.
      this.outer = createNetServer({ noDelay: true }, (socket) => http1Connection(socket));
      return;
    }
    // The same request handler for HTTP/2: node:http2's compatibility objects have the
    // shape the routes use; only connection-specific headers must be dropped on the way.
    const http2 = createHttp2Server(
      {
        // One limit per session, in the spirit of the per-address limit for HTTP/1.1
        // connections: a browser opens many streams on one connection.
        settings: { maxConcurrentStreams: 1000 },
      },
      (request: Http2ServerRequest, response: Http2ServerResponse) => {
        dropHopByHopHeaders(response);
        handler(request as unknown as IncomingMessage, response as unknown as ServerResponse);
      },
    );
    http2.on('session', (session: Http2Session) => this.#track(session));
    this.#http2 = http2;
    if ('tls' in security) {
      const tls = createTlsServer({
        noDelay: true,
        ...security.tls,
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      tls.on('secureConnection', (socket: TLSSocket) => {
        if (socket.alpnProtocol === 'h2') http2.emit('connection', socket);
        else http1Connection(socket);
      });
      // A failed handshake (a scanner, a client that distrusts the certificate) ends that
      // socket only.
      tls.on('tlsClientError', (_error, socket) => socket.destroy());
      this.outer = tls;
    } else {
      this.outer = createNetServer({ noDelay: true }, (socket) =>
        sniffPreface(socket, http1.headersTimeout || 60_000, http1Connection, http2),
      );
    }
  }

  /** Listens, and resolves with the address (rejects with the listen error, e.g. EADDRINUSE). */
  async listen(port: number, host?: string): Promise<AddressInfo> {
    const server = this.outer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  /** Whether HTTP/2 is spoken here. */
  get http2(): boolean {
    return this.#http2 !== undefined;
  }

  /** Whether this listener serves TLS. */
  get tls(): boolean {
    return 'setSecureContext' in this.outer;
  }

  /** HTTP/2 sessions open now. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Replaces the certificate for new handshakes; connections already open keep theirs, and
   * their streams stay open.
   */
  setCredentials(credentials: TlsCredentials): void {
    if (!this.tls) {
      throw new Error('this listener does not serve TLS: there is no certificate to replace');
    }
    // Built first, so a bad pair throws here and the running certificate stays.
    createSecureContext(credentials);
    (this.outer as ReturnType<typeof createTlsServer>).setSecureContext(credentials);
  }

  /**
   * Stops accepting connections: HTTP/2 sessions get a GOAWAY (streams in flight finish),
   * idle HTTP/1.1 connections close. Resolves once every connection has closed.
   */
  close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.outer.close(() => resolve()));
    if (this.outer !== this.http1) this.http1.close();
    this.closeIdle();
    return closed;
  }

  /** Closes what has nothing in flight: idle HTTP/1.1 connections, sessions without streams. */
  closeIdle(): void {
    this.http1.closeIdleConnections();
    this.#firstRequests?.closeIdle();
    for (const session of this.#sessions) {
      // GOAWAY: the client opens no new stream here, and the session ends with its last one.
      if (!session.closed) session.close();
    }
  }

  /** Cuts every connection (the shutdown deadline passed). */
  closeAll(): void {
    this.http1.closeAllConnections();
    this.#firstRequests?.closeAll();
    for (const session of this.#sessions) session.destroy();
  }

  #track(session: Http2Session): void {
    this.#sessions.add(session);
    this.#openStreams.set(session, 0);
    if (this.#closing) session.close();
    this.#armIdleTimer(session);
    session.on('stream', (stream: ServerHttp2Stream) => {
      this.#openStreams.set(session, (this.#openStreams.get(session) ?? 0) + 1);
      this.#disarmIdleTimer(session);
      stream.once('close', () => {
        const open = (this.#openStreams.get(session) ?? 1) - 1;
        this.#openStreams.set(session, open);
        if (open === 0) this.#armIdleTimer(session);
      });
    });
    // A session that fails (a reset socket, a protocol error) ends by itself; it must not
    // end the process.
    session.on('error', () => {});
    session.once('close', () => {
      this.#disarmIdleTimer(session);
      this.#sessions.delete(session);
      this.#openStreams.delete(session);
    });
  }

  /**
   * An HTTP/2 session with no stream is closed after the HTTP/1 keep-alive timeout, as an
   * idle HTTP/1.1 connection is: an open event stream keeps its session, however quiet.
   */
  #armIdleTimer(session: Http2Session): void {
    const timeout = this.http1.keepAliveTimeout;
    if (timeout <= 0 || session.closed || session.destroyed) return;
    const timer = setTimeout(() => {
      this.#idleTimers.delete(session);
      if (!session.closed) session.close();
    }, timeout);
    timer.unref();
    this.#idleTimers.set(session, timer);
  }

  #disarmIdleTimer(session: Http2Session): void {
    const timer = this.#idleTimers.get(session);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#idleTimers.delete(session);
  }
}

/**
 * Cleartext: reads just enough of a new connection to tell the HTTP/2 preface from an
 * HTTP/1 request line, puts the bytes back and hands the socket to the server that speaks
 * it.
 */
function sniffPreface(
  socket: Socket,
  timeoutMs: number,
  http1Connection: (socket: Socket, seen: Buffer) => void,
  http2: Http2Server,
): void {
  let seen: Buffer = Buffer.alloc(0);
  // A connection that says nothing is closed like an HTTP/1 request whose head never comes.
  socket.setTimeout(timeoutMs, () => socket.destroy());
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, HTTP2_PREFACE.length);
    const matches = seen.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    // Still a prefix of the preface: wait for more bytes before deciding.
    if (matches && compared < HTTP2_PREFACE.length) return;
    socket.off('data', onData);
    socket.off('error', onError);
    socket.setTimeout(0);
    if (matches) {
      // node:http2 reads what is buffered on the socket before its own reads.
      socket.pause();
      socket.unshift(seen);
      http2.emit('connection', socket);
    } else {
      http1Connection(socket, seen);
    }
  };
  const onError = () => socket.destroy();
  socket.on('data', onData);
  socket.on('error', onError);
}
