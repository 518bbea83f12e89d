import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { EventSource } from '@tidings/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createClockServer } from '../src/server.js';

const servers: { close(): void; closeAllConnections(): void }[] = [];
const sources: EventSource[] = [];

afterEach(() => {
  for (const source of sources.splice(0)) source.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function start(options: Parameters<typeof createClockServer>[0]): Promise<string> {
  const server = createClockServer(options);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Collects events of the given types, in arrival order, until `count` have arrived. */
function collect(source: EventSource, types: string[], count: number) {
  const events: { type: string; data: string }[] = [];
  return new Promise<{ type: string; data: string }[]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${events.length} of ${count} events arrived`)),
      5_000,
    );
    for (const type of types) {
      source.addEventListener(type, (event) => {
        events.push({ type, data: (event as MessageEvent<string>).data });
        if (events.length === count) {
          clearTimeout(timer);
          resolve(events);
        }
      });
    }
  });
}

describe('clock example', () => {
  it('sends a ping with the ISO time every tick and a message after the random count', async () => {
    // The random count comes out 2, then 3: messages after the 2nd and the 5th ping.
    const counts = [2, 3, 10];
    const ranges: [number, number][] = [];
    let second = 0;
    const url = await start({
      tickMs: 15,
      randomInt: (min, max) => {
        ranges.push([min, max]);
        return counts.shift() ?? 10;
      },
      now: () => new Date(Date.UTC(2026, 0, 1, 12, 0, second++)),
    });
    const source = new EventSource(`${url}/clock`);
    sources.push(source);
    const events = await collect(source, ['ping', 'message'], 7);

    expect(events.map((e) => e.type)).toEqual([
      'ping',
      'ping',
      'message',
      'ping',
      'ping',
      'ping',
      'message',
    ]);
    const pings = events.filter((e) => e.type === 'ping').map((e) => JSON.parse(e.data));
    expect(pings[0]).toEqual({ time: '2026-01-01T12:00:00.000Z' });
    expect(pings[4]).toEqual({ time: '2026-01-01T12:00:04.000Z' });
    // The message names the time of the ping it follows, like the original loop.
    expect(events[2]!.data).toBe('This is a message at time 2026-01-01T12:00:01.000Z');
    expect(events[6]!.data).toBe('This is a message at time 2026-01-01T12:00:04.000Z');
    expect(ranges.slice(0, 2)).toEqual([
      [1, 10],
      [1, 10],
    ]);
  });

  it('answers with an event stream that is not stored by caches', async () => {
    const url = await start({ tickMs: 1000 });
    const controller = new AbortController();
    const response = await fetch(`${url}/clock`, { signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: ping\ndata: \{"time":"\d{4}-\d\d-\d\dT[\d:.]+Z"\}\n\n/);
    controller.abort();
  });

  it('stops its loop when the client leaves', async () => {
    let reads = 0;
    const url = await start({
      tickMs: 10,
      now: () => {
        reads++;
        return new Date();
      },
    });
    const source = new EventSource(`${url}/clock`);
    sources.push(source);
    await collect(source, ['ping'], 3);
    source.close();
    // Let the server notice the closed socket, then make sure the clock no longer ticks.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = reads;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reads).toBe(after);
  });

  it('serves the page that listens to the stream, and says where things are otherwise', async () => {
    const url = await start({});
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain("new EventSource('/clock')");
    expect(html).toContain("addEventListener('ping'");

    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('/clock');
    const post = await fetch(`${url}/clock`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
