import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Resolves when the client side of this request went away (or the response ended). */
  closed: Promise<void>;
}

export interface TestServer {
  url: string;
  requests: RecordedRequest[];
  /** Resolves when the server has received `count` requests in all. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const started = new Set<TestServer>();

/**
 * A real node:http server on 127.0.0.1, port 0, for client tests. `handle` gets each
 * request (body already read) and its index, counting from 0. `closeStartedServers()` in an
 * `afterEach` closes it if the test did not.
 */
export async function startServer(
  handle: (request: IncomingMessage, response: ServerResponse, index: number) => void,
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const closed = new Promise<void>((resolve) => response.once('close', () => resolve()));
    const index = requests.length;
    requests.push({
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      closed,
    });
    for (const waiter of waiters.splice(0)) {
      if (requests.length >= waiter.count) waiter.resolve();
      else waiters.push(waiter);
    }
    handle(request, response, index);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const testServer: TestServer = {
    url: `http://127.0.0.1:${port}/`,
    requests,
    waitForRequests: (count, timeoutMs = 5000) =>
      requests.length >= count
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`expected ${count} requests, got ${requests.length}`)),
              timeoutMs,
            );
            waiters.push({
              count,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
          }),
    close: () => {
      started.delete(testServer);
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  started.add(testServer);
  return testServer;
}

/**
 * Closes every server `startServer` started that is still open, cutting its connections (event
 * streams never end by themselves).
 */
export async function closeStartedServers(): Promise<void> {
  await Promise.all([...started].map((server) => server.close()));
}

/** A URL where nothing listens: connecting to it fails at once (ECONNREFUSED). */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}

export const eventStreamHeaders = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-store',
};
