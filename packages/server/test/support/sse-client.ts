import http, { type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createParser, type ServerSentEvent } from '@tidings/protocol';

// Taken at load: tests that fake timers must not stall the helpers' own waiting.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Everything a client parsed from one event stream, with ways to wait for more. */
export class EventCollector {
  readonly events: ServerSentEvent[] = [];
  readonly comments: string[] = [];
  readonly retries: number[] = [];
  /** Raw chunks as they arrived (after decompression, if any). */
  readonly chunks: Uint8Array[] = [];
  ended = false;
  readonly #parser = createParser({
    onEvent: (event) => {
      this.events.push(event);
      this.#wake();
    },
    onComment: (text) => {
      this.comments.push(text);
      this.#wake();
    },
    onRetry: (ms) => {
      this.retries.push(ms);
      this.#wake();
    },
  });
  #waiters: (() => void)[] = [];

  feed(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.#parser.feed(chunk);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.#parser.end();
    this.#wake();
  }

  /** Resolves when `condition` holds; rejects after `timeoutMs` naming `what`. */
  async until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = realSetTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (!condition()) return;
        realClearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== check);
        resolve();
      };
      this.#waiters.push(check);
    });
  }

  /** Waits for `count` events in all, and returns them all. */
  async waitForEvents(count: number, timeoutMs = 5000): Promise<ServerSentEvent[]> {
    await this.until(
      () => this.events.length >= count,
      `${count} events (have ${this.events.length})`,
      timeoutMs,
    );
    return this.events;
  }

  async waitForEnd(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.ended, 'the end of the stream', timeoutMs);
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

export interface Http1Client {
  readonly response: IncomingMessage;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly collector: EventCollector;
  /** Drops the connection, as a closed browser tab does. */
  close(): void;
}

/** GET `url` as an EventSource would, over a connection of its own. */
export function connectHttp1(
  url: string,
  headers: Record<string, string> = {},
): Promise<Http1Client> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, {
      agent: false,
      headers: { accept: 'text/event-stream', 'cache-control': 'no-cache', ...headers },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const collector = new EventCollector();
      response.on('data', (chunk: Uint8Array) => collector.feed(chunk));
      response.on('end', () => collector.end());
      response.on('close', () => collector.end());
      response.on('error', () => collector.end());
      resolve({
        response,
        status: response.statusCode ?? 0,
        headers: response.headers,
        collector,
        close: () => {
          request.destroy();
          response.destroy();
        },
      });
    });
  });
}

export interface Http2Client {
  readonly stream: ClientHttp2Stream;
  readonly headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader;
  readonly collector: EventCollector;
  /** Resets the stream (RST_STREAM CANCEL): the HTTP/2 way of leaving. */
  close(): void;
}

export function requestHttp2(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
): Promise<Http2Client> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, accept: 'text/event-stream', ...headers });
    stream.on('error', () => {});
    stream.once('response', (responseHeaders) => {
      const collector = new EventCollector();
      stream.on('data', (chunk: Uint8Array) => collector.feed(chunk));
      stream.on('end', () => collector.end());
      stream.on('close', () => collector.end());
      resolve({
        stream,
        headers: responseHeaders,
        collector,
        close: () => stream.close(http2.constants.NGHTTP2_CANCEL),
      });
    });
    stream.once('close', () => reject(new Error(`stream ${path} closed before its response`)));
  });
}

const sessions = new WeakMap<object, Set<http2.ServerHttp2Session>>();

/** Listens on 127.0.0.1, on a free port; resolves with the base URL. */
export async function listen(server: Server | http2.Http2Server): Promise<string> {
  if (isHttp2(server)) {
    const open = new Set<http2.ServerHttp2Session>();
    sessions.set(server, open);
    server.on('session', (session: http2.ServerHttp2Session) => {
      open.add(session);
      session.once('close', () => open.delete(session));
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function isHttp2(server: Server | http2.Http2Server): boolean {
  return typeof (server as Server).closeAllConnections !== 'function';
}

/** Closes a server, cutting open connections (event streams never end by themselves). */
export async function closeServer(server: Server | http2.Http2Server): Promise<void> {
  (server as Server).closeAllConnections?.();
  for (const session of sessions.get(server) ?? []) session.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Resolves once `condition` holds, checking every few milliseconds. */
export async function eventually(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  }
}

/** A promise and its resolver, for handing values out of request handlers. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
