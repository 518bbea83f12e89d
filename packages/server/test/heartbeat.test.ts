import http from 'node:http';
import { EventStream, streamStats } from '@tidings/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeServer, connectHttp1, deferred, eventually, listen } from './support/sse-client.js';

let server: http.Server;
let base: string;
let streams: EventStream[];
let options: Parameters<typeof EventStream.fromNode>[2];
let nextOpened: ReturnType<typeof deferred<EventStream>>;

beforeEach(async () => {
  // Only the interval timers are fake: sockets and the helpers' timeouts stay real.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  streams = [];
  options = undefined;
  nextOpened = deferred<EventStream>();
  server = http.createServer((req, res) => {
    const stream = EventStream.fromNode(req, res, options);
    streams.push(stream);
    nextOpened.resolve(stream);
  });
  base = await listen(server);
});

afterEach(async () => {
  await closeServer(server);
  await eventually(() => streamStats().open === 0, 'every stream to close');
  vi.useRealTimers();
});

async function open(streamOptions?: Parameters<typeof EventStream.fromNode>[2]) {
  options = streamOptions;
  nextOpened = deferred<EventStream>();
  const client = await connectHttp1(base);
  return { client, stream: await nextOpened.promise };
}

describe('heartbeat', () => {
  it('sends a keep-alive comment every 15 s by default to an idle stream', async () => {
    const { client } = await open();
    await vi.advanceTimersByTimeAsync(14_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.collector.comments).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await client.collector.until(
      () => client.collector.comments.length === 1,
      'the first keep-alive',
    );
    await vi.advanceTimersByTimeAsync(15_000);
    await client.collector.until(
      () => client.collector.comments.length === 2,
      'the second keep-alive',
    );
    // Comments only: nothing a client would dispatch.
    expect(client.collector.events).toHaveLength(0);
    client.close();
  });

  it('skips a stream that sent something during the interval', async () => {
    const { client, stream } = await open({ heartbeatMs: 1000 });
    await vi.advanceTimersByTimeAsync(500);
    stream.send({ data: 'busy' });
    await vi.advanceTimersByTimeAsync(500); // first sweep: the stream was active
    await client.collector.waitForEvents(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.collector.comments).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000); // second sweep: idle for a whole interval
    await client.collector.until(() => client.collector.comments.length === 1, 'a keep-alive');
    client.close();
  });

  it('drives every stream from one shared timer, which stops with the last stream', async () => {
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push((await open({ heartbeatMs: 5000 })).client);
    expect(vi.getTimerCount()).toBe(1);
    expect(streamStats()).toMatchObject({ open: 20, heartbeatTimers: 1, heartbeatStreams: 20 });
    await vi.advanceTimersByTimeAsync(5000);
    await Promise.all(
      clients.map((c) =>
        c.collector.until(() => c.collector.comments.length === 1, 'a keep-alive'),
      ),
    );

    // Another interval is another timer; disabled heartbeats register nothing.
    const other = await open({ heartbeatMs: 7000 });
    const silent = await open({ heartbeatMs: false });
    expect(streamStats()).toMatchObject({ open: 22, heartbeatTimers: 2, heartbeatStreams: 21 });
    expect(vi.getTimerCount()).toBe(2);

    for (const client of clients) client.close();
    other.client.close();
    await eventually(() => streamStats().open === 1, 'all but the silent stream to close');
    expect(streamStats()).toMatchObject({ heartbeatTimers: 0, heartbeatStreams: 0 });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(silent.client.collector.comments).toHaveLength(0);
    silent.stream.close();
  });

  it('leaves a stream whose client is behind alone', async () => {
    const { client, stream } = await open({ heartbeatMs: 1000, maxQueueBytes: 64 * 1024 * 1024 });
    client.response.pause();
    const payload = 'b'.repeat(8192);
    for (let round = 0; round < 1000; round++) {
      while (stream.send({ data: payload })) await new Promise((resolve) => setImmediate(resolve));
      const stuck = await Promise.race([
        stream.drained().then(() => false),
        new Promise<true>((r) => setTimeout(r, 50, true)),
      ]);
      if (stuck) break;
    }
    const held = stream.bufferedBytes;
    await vi.advanceTimersByTimeAsync(1000); // clears the activity mark
    await vi.advanceTimersByTimeAsync(1000); // would send a keep-alive to an idle stream
    expect(stream.bufferedBytes).toBe(held);
    stream.close();
  });
});
