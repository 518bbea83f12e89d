import type { IncomingMessage } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { createParser, type ServerSentEvent } from '@tidings/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  makeTestCertificate,
  type TestCertificate,
} from '../../../test-support/tls-certificate.js';
import { startHub, subscribePath, type TestHub } from './hub-harness.js';

/** One HTTP/1.1 response read off a connection. */
interface ParsedResponse {
  statusLine: string;
  status: number;
  /** Names lower-cased, in the order sent; each name once (a repeat would fail the test). */
  headers: Record<string, string>;
  body: Buffer;
  /** The body is complete (its Content-Length arrived, or the last chunk). */
  complete: boolean;
}

/**
 * Reads every response in `bytes`, in order, strictly (RFC 9112 framing); the last one may be
 * incomplete.
 */
function readResponses(bytes: Buffer): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const [statusLine, ...lines] = bytes.subarray(at, headEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      if (name in headers) throw new Error(`header ${name} sent twice`);
      headers[name] = line.slice(colon + 1).trim();
    }
    const response: ParsedResponse = {
      statusLine: statusLine as string,
      status: Number(statusLine?.split(' ')[1]),
      headers,
      body: Buffer.alloc(0),
      complete: false,
    };
    responses.push(response);
    at = headEnd + 4;
    if (headers['transfer-encoding'] === 'chunked') {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = bytes.indexOf('\r\n', at);
        if (lineEnd === -1) break;
        const sizeLine = bytes.subarray(at, lineEnd).toString('latin1');
        if (!/^[0-9a-f]+$/i.test(sizeLine)) throw new Error(`bad chunk size ${sizeLine}`);
        const size = Number.parseInt(sizeLine, 16);
        if (bytes.length < lineEnd + 2 + size + 2) break;
        if (bytes.subarray(lineEnd + 2 + size, lineEnd + 4 + size).toString() !== '\r\n') {
          throw new Error('chunk not followed by CRLF');
        }
        chunks.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 4 + size;
        if (size === 0) {
          response.complete = true;
          break;
        }
      }
      response.body = Buffer.concat(chunks);
      if (!response.complete) break;
    } else {
      const length = Number(headers['content-length'] ?? 0);
      response.body = bytes.subarray(at, Math.min(bytes.length, at + length));
      response.complete = response.body.length === length;
      at += length;
      if (!response.complete) break;
    }
  }
  return responses;
}

/** The events, comments and retry fields of an event-stream body. */
function eventsOf(body: Buffer): { events: ServerSentEvent[]; retries: number[] } {
  const result = { events: [] as ServerSentEvent[], retries: [] as number[] };
  const parser = createParser({
    onEvent: (event) => result.events.push(event),
    onRetry: (ms) => result.retries.push(ms),
  });
  parser.feed(new Uint8Array(body));
  return result;
}

/** A client connection that keeps every byte received. */
class Connection {
  received = Buffer.alloc(0);
  ended = false;
  readonly socket: Socket;
  #waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.#wake();
    });
    socket.on('error', () => {});
    connections.push(this);
  }

  static async open(port: number): Promise<Connection> {
    const socket = connectTcp(port, '127.0.0.1');
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Connection(socket);
  }

  static async openTls(port: number): Promise<Connection> {
    const socket = connectTls({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    await new Promise((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.alpnProtocol).toBe('http/1.1');
    return new Connection(socket);
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  get responses(): ParsedResponse[] {
    return readResponses(this.received);
  }

  /** Resolves with `read()` once it is not undefined (5 s at most, then the test fails). */
  async until<T>(read: () => T | undefined, what: string): Promise<T> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const value = read();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}; received ${JSON.stringify(this.received.toString('latin1').slice(0, 2000))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves with the `index`th response once its head arrived. */
  response(index = 0): Promise<ParsedResponse> {
    return this.until(() => this.responses[index], `response ${index}`);
  }

  /** Resolves with the `index`th response once it is complete. */
  completeResponse(index = 0): Promise<ParsedResponse> {
    return this.until(() => {
      const response = this.responses[index];
      return response?.complete ? response : undefined;
    }, `the whole of response ${index}`);
  }

  /** Resolves with the events of the `index`th response once `count` arrived. */
  events(count: number, index = 0): Promise<ServerSentEvent[]> {
    return this.until(() => {
      const response = this.responses[index];
      if (response === undefined) return undefined;
      const { events } = eventsOf(response.body);
      return events.length >= count ? events : undefined;
    }, `${count} events in response ${index}`);
  }

  closed(): Promise<true> {
    return this.until(() => (this.ended ? true : undefined), 'the connection to close');
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}

const connections: Connection[] = [];

/** Resolves once `condition` holds, checking every few milliseconds (5 s at most). */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function subscribeHead(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${extra}\r\n`;
}

function publishRequest(token: string, fields: Record<string, string>): string {
  const body = new URLSearchParams(fields).toString();
  return (
    'POST /.well-known/mercure HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
    `Authorization: Bearer ${token}\r\n` +
    'Content-Type: application/x-www-form-urlencoded\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Every request node:http parsed, as `METHOD url`. */
function recordRequests(t: TestHub): string[] {
  const seen: string[] = [];
  t.hub.server?.on('request', (request: IncomingMessage) =>
    seen.push(`${request.method} ${request.url}`),
  );
  return seen;
}

/**
 * A response's headers without those that legitimately differ: the date, and the connection's
 * fate (a direct stream is its connection's last response; node:http keeps it alive).
 */
function comparable(headers: Record<string, string>): Record<string, string> {
  const { date: _date, 'keep-alive': _keepAlive, connection: _connection, ...rest } = headers;
  return rest;
}

let t: TestHub | undefined;

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  await t?.close();
  t = undefined;
});

describe("a connection's first request", () => {
  it('answers a subscription without node:http, and the same as node:http does on a keep-alive connection', async () => {
    t = await startHub({ corsOrigins: ['https://app.example'] });
    const requests = recordRequests(t);
    const publisher = await t.token({ publish: ['*'] });
    const path = subscribePath(['/books/{id}'], { lastEventID: 'earliest' });
    const origin = 'Origin: https://app.example\r\n';

    const direct = await Connection.open(t.port);
    direct.send(subscribeHead(path, origin));
    const directHead = await direct.response();
    expect(directHead.status).toBe(200);
    expect(requests).toEqual([]);

    // A publish first, then the same subscription as the connection's second request.
    const viaNode = await Connection.open(t.port);
    viaNode.send(publishRequest(publisher, { topic: '/books/1', data: 'first' }));
    const published = await viaNode.completeResponse(0);
    expect(published.status).toBe(200);
    viaNode.send(subscribeHead(path, origin));
    const nodeHead = await viaNode.response(1);
    expect(nodeHead.status).toBe(200);
    expect(requests).toEqual(['POST /.well-known/mercure', `GET ${path}`]);

    // The direct subscriber got the first update by replay, as the other one will.
    expect(comparable(directHead.headers)).toEqual(comparable(nodeHead.headers));
    expect(directHead.headers['last-event-id']).toBe('earliest');
    expect(directHead.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(directHead.statusLine).toBe(nodeHead.statusLine);
    expect(directHead.headers.connection).toBe('close');
    expect(nodeHead.headers.connection).toBe('keep-alive');

    const second = await t.publish({ topic: '/books/2', data: 'second' });
    expect(second.status).toBe(200);
    const directEvents = await direct.events(2);
    const nodeEvents = await viaNode.events(2, 1);
    expect(directEvents.map((event) => event.data)).toEqual(['first', 'second']);
    expect(directEvents).toEqual(nodeEvents);
    expect(eventsOf(direct.responses[0]!.body).retries).toEqual(
      eventsOf(viaNode.responses[1]!.body).retries,
    );
    // The hub's own publish went through node:http; the direct subscription never did.
    expect(requests.filter((request) => request.startsWith('GET '))).toEqual([`GET ${path}`]);
  });

  it('hands a refused subscription to node:http, which answers 401 with WWW-Authenticate and a body', async () => {
    t = await startHub({ auth: { anonymous: false } });
    const requests = recordRequests(t);
    const path = subscribePath(['x']);
    const refused = await Connection.open(t.port);
    refused.send(subscribeHead(path, 'Authorization: Bearer not.a.token\r\n'));
    const response = await refused.completeResponse();
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(response.body.length).toBeGreaterThan(0);
    expect(requests).toEqual([`GET ${path}`]);
    expect(t.hub.metrics.connections).toBe(0);

    // The same refusal as node:http gives on a connection's second request.
    const second = await Connection.open(t.port);
    second.send('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await second.completeResponse(0);
    second.send(subscribeHead(path, 'Authorization: Bearer not.a.token\r\n'));
    const viaNode = await second.completeResponse(1);
    expect(viaNode.status).toBe(401);
    expect(comparable(response.headers)).toEqual(comparable(viaNode.headers));
    expect(response.body.toString()).toBe(viaNode.body.toString());
  });

  it('hands back a host that is not publicUrl’s: 421', async () => {
    t = await startHub({ publicUrl: 'https://hub.example/.well-known/mercure' });
    const requests = recordRequests(t);
    const refused = await Connection.open(t.port);
    refused.send(subscribeHead(subscribePath(['x'])));
    const response = await refused.completeResponse();
    expect(response.status).toBe(421);
    expect(response.body.toString()).toMatch(/hub\.example/);
    expect(requests).toHaveLength(1);

    // The right host is answered directly.
    const accepted = await Connection.open(t.port);
    accepted.send(
      `GET ${subscribePath(['x'])} HTTP/1.1\r\nHost: hub.example\r\nAccept: text/event-stream\r\n\r\n`,
    );
    expect((await accepted.response()).status).toBe(200);
    expect(requests).toHaveLength(1);
  });

  it('hands back subscriptions past the connection limits: 503, and 429 per address', async () => {
    t = await startHub({ maxConnections: 1, retryAfterSeconds: 7 });
    const open = await Connection.open(t.port);
    open.send(subscribeHead(subscribePath(['x'])));
    expect((await open.response()).status).toBe(200);
    const full = await Connection.open(t.port);
    full.send(subscribeHead(subscribePath(['x'])));
    const refused = await full.completeResponse();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('7');
    expect(refused.body.toString()).toMatch(/limit of 1 open connections/);
    await t.close();

    t = await startHub({ maxConnectionsPerIp: 1, retryAfterSeconds: 3 });
    const first = await Connection.open(t.port);
    first.send(subscribeHead(subscribePath(['x'])));
    expect((await first.response()).status).toBe(200);
    const again = await Connection.open(t.port);
    again.send(subscribeHead(subscribePath(['x'])));
    const tooMany = await again.completeResponse();
    expect(tooMany.status).toBe(429);
    expect(tooMany.headers['retry-after']).toBe('3');
    expect(tooMany.body.toString()).toMatch(/too many open connections from 127\.0\.0\.1/);
    expect(t.hub.metrics.connections).toBe(1);
  });

  it('answers a subscription head that never completes with 408 and the reason', async () => {
    t = await startHub({ headersTimeoutMs: 200 });
    const requests = recordRequests(t);
    const stalled = await Connection.open(t.port);
    stalled.send(`GET ${subscribePath(['x'])} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    await stalled.closed();
    const text = stalled.received.toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(text).toMatch(/send the request line and headers within 200 ms \(--headers-timeout\)/);
    expect(requests).toEqual([]);
  });

  it('survives a client that resets its connection after the 408 (no unhandled error)', async () => {
    t = await startHub({ headersTimeoutMs: 200 });
    const silent = await Connection.open(t.port);
    const partial = await Connection.open(t.port);
    partial.send(`GET ${subscribePath(['x'])} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    // Both get their 408 without reading it, then reset: the hub's write or read meets the RST.
    await eventually(
      () => silent.received.length > 0 && partial.received.length > 0,
      'both 408 answers',
    );
    silent.socket.resetAndDestroy();
    partial.socket.resetAndDestroy();
    await Promise.all([silent.closed(), partial.closed()]);
    // Still serving.
    const next = await Connection.open(t.port);
    next.send(subscribeHead(subscribePath(['x'])));
    expect((await next.response()).status).toBe(200);
  });

  it('hub.close() completes after a 408 whose client keeps its side of the connection open', async () => {
    t = await startHub({ headersTimeoutMs: 200, shutdownTimeoutMs: 300 });
    const socket = connectTcp({ port: t.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((resolve) => socket.once('connect', resolve));
    const kept = new Connection(socket);
    kept.send(`GET ${subscribePath(['x'])} HTTP/1.1\r\n`);
    await eventually(() => kept.received.length > 0, 'the 408');
    expect(kept.received.toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
    const hub = t;
    t = undefined;
    const outer = hub.hub.listener!.outer;
    // The client never ends its side: the shutdown deadline cuts the connection, and close()
    // resolves (it waited for this connection forever before).
    await hub.close();
    const open = await new Promise<number>((resolve, reject) =>
      outer.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
    expect(open).toBe(0);
    expect(kept.ended || !kept.socket.readable).toBe(true);
  });

  it('answers a subscription whose request line arrives in small pieces directly', async () => {
    t = await startHub();
    const requests = recordRequests(t);
    const head = subscribeHead(subscribePath(['x']));
    const connection = await Connection.open(t.port);
    // Pieces shorter than `GET /.well-known/mercure`, each in a read of its own.
    for (let at = 0; at < head.length; at += 7) {
      connection.send(head.slice(at, at + 7));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect((await connection.response()).status).toBe(200);
    expect(requests).toEqual([]);
  });

  it('gives a head with bare LF line ends to node:http at once (400, not a late 408)', async () => {
    t = await startHub({ headersTimeoutMs: 60_000 });
    const requests = recordRequests(t);
    const connection = await Connection.open(t.port);
    connection.send(`GET ${subscribePath(['x'])} HTTP/1.1\nHost: 127.0.0.1\n\n`);
    const response = await connection.response();
    expect(response.status).toBe(400);
    expect(requests).toEqual([]);
  });

  it.each([
    ['in one write', 1],
    ['in pieces', 4],
  ])('answers a subscription head over 16 KiB with 431 (%s)', async (_name, pieces) => {
    t = await startHub();
    const requests = recordRequests(t);
    const big = subscribeHead(subscribePath(['x']), `X-Big: ${'b'.repeat(17 * 1024)}\r\n`);
    const connection = await Connection.open(t.port);
    const size = Math.ceil(big.length / pieces);
    for (let at = 0; at < big.length; at += size) connection.send(big.slice(at, at + size));
    const response = await connection.response();
    expect(response.status).toBe(431);
    expect(requests).toEqual([]);
    expect(t.hub.metrics.connections).toBe(0);
  });

  it('accepts a head just under node:http’s limit directly', async () => {
    t = await startHub();
    const requests = recordRequests(t);
    const head = subscribeHead(subscribePath(['x']), `X-Big: ${'b'.repeat(15 * 1024)}\r\n`);
    const connection = await Connection.open(t.port);
    connection.send(head);
    expect((await connection.response()).status).toBe(200);
    expect(requests).toEqual([]);
  });

  it('gives a pipelined request to node:http: both are answered in order', async () => {
    t = await startHub();
    const requests = recordRequests(t);
    const noTopic = '/.well-known/mercure';
    const connection = await Connection.open(t.port);
    connection.send(`${subscribeHead(noTopic)}GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const first = await connection.completeResponse(0);
    const second = await connection.completeResponse(1);
    expect(first.status).toBe(400);
    expect(second.status).toBe(200);
    expect(requests).toEqual([`GET ${noTopic}`, 'GET /healthz']);
  });

  it('gives a subscription with a pipelined request behind it to node:http', async () => {
    t = await startHub();
    const requests = recordRequests(t);
    const path = subscribePath(['x']);
    const connection = await Connection.open(t.port);
    connection.send(`${subscribeHead(path)}GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const stream = await connection.response(0);
    expect(stream.status).toBe(200);
    expect(requests[0]).toBe(`GET ${path}`);
    expect((await t.publish({ topic: 'x', data: 'one' })).status).toBe(200);
    expect((await connection.events(1)).map((event) => event.data)).toEqual(['one']);
  });

  it('leaves no subscriber behind for clients that leave while they are authenticated', async () => {
    t = await startHub({ auth: { anonymous: false } });
    const token = await t.token({ subscribe: ['*'] });
    const path = subscribePath(['x']);
    const leaving: Connection[] = [];
    for (let i = 0; i < 20; i++) {
      // A token of its own, so that no verification is cached: each one is checked anew.
      const own = await t.token({ subscribe: ['*'], payload: { i } });
      const connection = await Connection.open(t.port);
      // The head and the FIN leave together: the hub sees the client go while the token's
      // signature is checked (asynchronously), or right after its stream opened.
      connection.socket.end(subscribeHead(path, `Authorization: Bearer ${own}\r\n`));
      leaving.push(connection);
    }
    await Promise.all(leaving.map((connection) => connection.closed()));
    // The hub is still serving, and all it counts is this one subscriber.
    const kept = await Connection.open(t.port);
    kept.send(subscribeHead(path, `Authorization: Bearer ${token}\r\n`));
    expect((await kept.response()).status).toBe(200);
    await eventually(() => t?.hub.metrics.connections === 1, 'one connection counted');
    kept.close();
    await kept.closed();
    await eventually(() => t?.hub.metrics.connections === 0, 'no connection counted');
  });

  it('hub.close() ends direct streams with the retry, closes their connections, and completes', async () => {
    t = await startHub({ shutdownRetryMs: 2000 });
    const subscribers = await Promise.all(
      [0, 1, 2].map(async () => {
        const connection = await Connection.open(t!.port);
        connection.send(subscribeHead(subscribePath(['x'])));
        expect((await connection.response()).status).toBe(200);
        return connection;
      }),
    );
    const hub = t;
    t = undefined;
    await hub.close();
    for (const connection of subscribers) {
      await connection.closed();
      const [response] = connection.responses;
      expect(response?.complete).toBe(true);
      const { retries } = eventsOf(response!.body);
      expect(retries).toHaveLength(1);
      expect(retries[0]).toBeGreaterThanOrEqual(1000);
      expect(retries[0]).toBeLessThanOrEqual(3000);
    }
    expect(hub.hub.metrics.connections).toBe(0);
  });

  it('hub.close() completes with connections whose first head is missing or incomplete', async () => {
    t = await startHub({ shutdownTimeoutMs: 300, headersTimeoutMs: 60_000 });
    const silent = await Connection.open(t.port);
    const partial = await Connection.open(t.port);
    partial.send(`GET ${subscribePath(['x'])} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    const open = await Connection.open(t.port);
    open.send(subscribeHead(subscribePath(['x'])));
    expect((await open.response()).status).toBe(200);
    const hub = t;
    t = undefined;
    await hub.close();
    await Promise.all([silent.closed(), partial.closed(), open.closed()]);
    expect(silent.received.length).toBe(0);
    expect(hub.hub.metrics.connections).toBe(0);
  });

  it('counts direct subscriptions in tidings_http_requests_total{route="hub",status="200"}', async () => {
    t = await startHub({ admin: 'public' });
    for (let i = 0; i < 3; i++) {
      const connection = await Connection.open(t.port);
      connection.send(subscribeHead(subscribePath(['x'])));
      expect((await connection.response()).status).toBe(200);
    }
    const text = await (await fetch(`${t.base}/metrics`)).text();
    expect(text).toMatch(/^tidings_http_requests_total\{route="hub",status="200"\} 3$/m);
  });
});

describe('other listeners still answer HTTP/1.1 subscriptions directly', () => {
  let certificate: TestCertificate;
  beforeAll(() => {
    certificate = makeTestCertificate();
  });
  afterAll(() => certificate?.remove());

  it('with h2c', async () => {
    t = await startHub({ listen: { h2c: true } });
    const requests = recordRequests(t);
    const connection = await Connection.open(t.port);
    connection.send(subscribeHead(subscribePath(['x'])));
    expect((await connection.response()).status).toBe(200);
    expect((await t.publish({ topic: 'x', data: 'over h2c' })).status).toBe(200);
    expect((await connection.events(1)).map((event) => event.data)).toEqual(['over h2c']);
    expect(requests.filter((request) => request.startsWith('GET'))).toEqual([]);
  });

  it('with TLS (ALPN http/1.1)', async () => {
    t = await startHub({ listen: { tls: { cert: certificate.cert, key: certificate.key } } });
    const requests = recordRequests(t);
    const connection = await Connection.openTls(t.port);
    connection.send(subscribeHead(subscribePath(['x'])));
    expect((await connection.response()).status).toBe(200);
    // Published over TLS by another connection, through node:http.
    const publisher = await Connection.openTls(t.port);
    publisher.send(publishRequest(await t.token({ publish: ['*'] }), { topic: 'x', data: 'tls' }));
    expect((await publisher.completeResponse()).status).toBe(200);
    expect((await connection.events(1)).map((event) => event.data)).toEqual(['tls']);
    expect(requests).toEqual(['POST /.well-known/mercure']);
  });
});
