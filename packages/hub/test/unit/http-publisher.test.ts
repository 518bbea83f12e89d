/**
 * The load client's publisher against a real HTTP server that holds each publish for a while
 * before answering: what the server sees on its sockets shows the size of the connection pool
 * and whether each update's answered-through mark was true when it was sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HttpPublisher } from '@tidings/hub/load';
import { afterEach, describe, expect, it } from 'vitest';

const HOLD_MS = 30;

interface Received {
  n: number;
  answeredThrough: number;
  /** Every update up to this number had been answered when this one reached the server. */
  serverAnsweredThrough: number;
}

/** A publish endpoint that answers every POST `HOLD_MS` after it arrived. */
async function holdingServer() {
  const sockets = new Set<Socket>();
  const received: Received[] = [];
  const answered = new Set<number>();
  let answeredThrough = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    sockets.add(req.socket);
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const data = JSON.parse(new URLSearchParams(body).get('data') ?? '{}') as {
        n: number;
        a: number;
      };
      received.push({ n: data.n, answeredThrough: data.a, serverAnsweredThrough: answeredThrough });
      setTimeout(() => {
        inFlight--;
        res.end('urn:uuid:x');
        // Answered once the response is on its way; the publisher learns it later still.
        answered.add(data.n);
        while (answered.has(answeredThrough + 1)) answeredThrough++;
      }, HOLD_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: new URL(`http://127.0.0.1:${port}/.well-known/mercure`),
    sockets,
    received,
    mostInFlight: () => mostInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function publishTo(connections: number | undefined) {
  const server = await holdingServer();
  const publisher = new HttpPublisher({
    url: server.url,
    topic: 'https://example.com/t',
    marker: 'run-1',
    ...(connections === undefined ? {} : { connections }),
  });
  cleanup = async () => {
    publisher.close();
    await server.close();
  };
  // 200/s for 0.3 s: a new publish every 5 ms, each held 30 ms, so they pile up.
  const run = await publisher.run(200, 300);
  return { server, run, publisher };
}

describe('HttpPublisher', () => {
  it('publishes over no more connections than asked, each used to the full', async () => {
    const { server, run } = await publishTo(3);
    expect(run).toMatchObject({ published: 60, failed: 0 });
    expect(server.received).toHaveLength(60);
    expect(server.sockets.size).toBe(3);
    expect(server.mostInFlight()).toBe(3);
  });

  it('opens more connections when the hub is slow to answer, by default', async () => {
    const { server, run } = await publishTo(undefined);
    expect(run).toMatchObject({ published: 60, failed: 0 });
    // Six publishes come due in one 30 ms hold: more than 3 are in flight at once.
    expect(server.sockets.size).toBeGreaterThan(3);
    expect(server.mostInFlight()).toBeGreaterThan(3);
  });

  it('marks each update with a number every publish up to which had truly been answered', async () => {
    const { server, publisher } = await publishTo(4);
    for (const update of server.received) {
      expect(update.answeredThrough).toBeLessThan(update.n);
      expect(update.answeredThrough).toBeLessThanOrEqual(update.serverAnsweredThrough);
    }
    // Once every answer is back, the next update says so.
    expect(await publisher.publishOne()).toBe('');
    expect(server.received.at(-1)).toMatchObject({ n: 61, answeredThrough: 60 });
  });

  it('refuses a pool of no connections', () => {
    expect(
      () =>
        new HttpPublisher({
          url: new URL('http://127.0.0.1:1/'),
          topic: 't',
          marker: 'm',
          connections: 0,
        }),
    ).toThrow('connections must be a whole number of at least 1, got 0');
  });
});
