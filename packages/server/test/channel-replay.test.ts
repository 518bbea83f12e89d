import http from 'node:http';
import { Channel, EventStream, HISTORY_GAP_EVENT, streamStats } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, connectHttp1, deferred, eventually, listen } from './support/sse-client.js';

let server: http.Server | undefined;

afterEach(async () => {
  if (server !== undefined) await closeServer(server);
  server = undefined;
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function serveChannel(channel: Channel, maxQueueBytes: number) {
  const subscribed = deferred<EventStream>();
  server = http.createServer((req, res) => {
    const stream = EventStream.fromNode(req, res, { maxQueueBytes });
    channel.subscribe(stream);
    subscribed.resolve(stream);
  });
  return { base: await listen(server), subscribed: subscribed.promise };
}

describe('replay racing live publishes (real sockets)', () => {
  it('delivers history then live events with no gap and no duplicate, at the pace of the client', async () => {
    const maxQueueBytes = 256 * 1024;
    const channel = new Channel({ history: { maxEvents: 10_000, maxBytes: 64 * 1024 * 1024 } });
    // 12 MB of history: more than the kernel's socket buffers take from a client that reads nothing.
    const payload = 'h'.repeat(4096);
    const published: string[] = [];
    for (let i = 0; i < 3000; i++) published.push(channel.publish({ data: payload }).id);
    const resumeFrom = published[99] as string;
    const { base, subscribed } = await serveChannel(channel, maxQueueBytes);

    // The client reads nothing at first: the replay (3 MB, far over maxQueueBytes) must wait
    // for it while live publishes keep coming.
    const client = await connectHttp1(base, { 'last-event-id': resumeFrom });
    client.response.pause();
    const stream = await subscribed;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 5; i++) published.push(channel.publish({ data: payload }).id);
      expect(stream.bufferedBytes).toBeLessThanOrEqual(maxQueueBytes);
      await turn();
    }
    expect(stream.closed).toBe(false);
    // The replay is stuck behind the client, with live events piling up in history meanwhile.
    expect(stream.bufferedBytes).toBeGreaterThan(0);
    expect(client.collector.events.length).toBeLessThan(published.length - 100);

    client.response.resume();
    // More live publishes while the client catches up.
    for (let round = 0; round < 50; round++) {
      published.push(channel.publish({ data: payload }).id);
      await turn();
    }
    const expected = published.slice(100);
    await client.collector.waitForEvents(expected.length, 20_000);
    await turn();
    expect(client.collector.events.map((e) => e.lastEventId)).toEqual(expected);
    expect(stream.closed).toBe(false);
    client.close();
  });

  it('names the gap when events are evicted before a slow replay reaches them, and stays ordered', async () => {
    // 4.8 MB of history, so the replay stalls on a client that reads nothing.
    const channel = new Channel({ history: { maxEvents: 300, maxBytes: 64 * 1024 * 1024 } });
    const payload = 'e'.repeat(16 * 1024);
    const published: string[] = [];
    for (let i = 0; i < 300; i++) published.push(channel.publish({ data: payload }).id);
    const { base, subscribed } = await serveChannel(channel, 128 * 1024);
    const client = await connectHttp1(base, { 'last-event-id': published[0] as string });
    client.response.pause();
    const stream = await subscribed;
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 10; i++) published.push(channel.publish({ data: payload }).id);
      await turn();
    }
    expect(stream.bufferedBytes).toBeGreaterThan(0);
    client.response.resume();
    const last = published.at(-1) as string;
    await client.collector.until(
      () => client.collector.events.at(-1)?.lastEventId === last,
      'the last event',
      20_000,
    );
    const events = client.collector.events;
    const gaps = events.filter((e) => e.type === HISTORY_GAP_EVENT);
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    const ids = events.filter((e) => e.type !== HISTORY_GAP_EVENT).map((e) => e.lastEventId);
    // Strictly increasing: nothing twice, nothing out of order.
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    // Before the first gap: exactly the events after the one resumed from.
    const firstGap = events.findIndex((e) => e.type === HISTORY_GAP_EVENT);
    expect(events.slice(0, firstGap).map((e) => e.lastEventId)).toEqual(
      published.slice(1, firstGap + 1),
    );
    // After the last gap: an unbroken run up to the newest event.
    const lastGap = events.findLastIndex((e) => e.type === HISTORY_GAP_EVENT);
    const tail = events.slice(lastGap + 1).map((e) => e.lastEventId);
    const start = published.indexOf(tail[0] as string);
    expect(tail).toEqual(published.slice(start));
    // Each notice names the last id delivered before it.
    const notice = JSON.parse(gaps[0]?.data as string) as { lastEventId: string };
    expect(notice.lastEventId).toBe(events[firstGap - 1]?.lastEventId ?? published[0]);
    expect(stream.closed).toBe(false);
    client.close();
  });
});
