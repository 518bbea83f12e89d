import { mintToken } from '@tidings/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import { type ServedHub, serveHub } from '../../hub/test/cli-process.js';
import { RawSubscriber } from '../../hub/test/raw-subscriber.js';

/**
 * Several `tidings serve --transport redis://…` processes on one real redis-server: what an
 * operator running hubs behind a load balancer relies on.
 */
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const HUB = '/.well-known/mercure';

describe.skipIf(!redisServerBinary)('hubs sharing one Redis', () => {
  let redis: RedisServer;
  let token: string;
  const hubs: ServedHub[] = [];
  const subscribers: RawSubscriber[] = [];

  const startHub = async (): Promise<ServedHub> => {
    const hub = await serveHub(SECRET, redis.url('?key=cluster&timeout=500ms'));
    hubs.push(hub);
    return hub;
  };

  const publish = (hub: ServedHub, topic: string, id: string) =>
    fetch(`http://127.0.0.1:${hub.port}${HUB}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: new URLSearchParams({ topic, id, data: `data of ${id}` }),
    });

  const subscribe = async (
    hub: ServedHub,
    topic: string,
    lastEventId?: string,
  ): Promise<RawSubscriber> => {
    const headers: Record<string, string> = lastEventId ? { 'Last-Event-ID': lastEventId } : {};
    const subscriber = RawSubscriber.open(
      hub.port,
      `${HUB}?topic=${encodeURIComponent(topic)}`,
      headers,
    );
    subscribers.push(subscriber);
    await subscriber.opened();
    expect(subscriber.status).toBe(200);
    return subscriber;
  };

  const idsOf = (subscriber: RawSubscriber) => subscriber.events.map((event) => event.lastEventId);
  const range = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => `${prefix}${i}`);

  beforeAll(async () => {
    redis = await RedisServer.start();
    token = await mintToken({ secret: SECRET, publish: ['*'], subscribe: ['*'] });
    await Promise.all([startHub(), startHub(), startHub()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    for (const hub of hubs) hub.run.child.kill('SIGKILL');
    await Promise.all(hubs.map((hub) => hub.run.exited));
    await redis?.stop();
  });

  it('delivers what is published on any hub to subscribers of every hub, in order', async () => {
    const [a, b, c] = hubs as [ServedHub, ServedHub, ServedHub];
    const listening = await Promise.all([a, b, c].map((hub) => subscribe(hub, 'cross')));
    const ids = range('cross-', 30);
    for (const [i, id] of ids.entries()) {
      expect((await publish(hubs[i % 3]!, 'cross', id)).status).toBe(200);
    }
    for (const subscriber of listening) {
      await subscriber.eventCount(30);
      expect(idsOf(subscriber)).toEqual(ids);
    }
  });

  it('lets the subscribers of a killed hub resume on another with every update exactly once', async () => {
    const [a, b, c] = hubs as [ServedHub, ServedHub, ServedHub];
    const onDoomed = await subscribe(c, 'steady');
    const ids = range('steady-', 120);
    // A publisher at a steady rate (one update every 10 ms) on the surviving hubs.
    const publishing = (async () => {
      for (const [i, id] of ids.entries()) {
        expect((await publish(i % 2 === 0 ? a : b, 'steady', id)).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await onDoomed.eventCount(30, 10_000);
    c.run.child.kill('SIGKILL');
    await onDoomed.closed();
    const lastSeen = idsOf(onDoomed).at(-1)!;
    const resumed = await subscribe(b, 'steady', lastSeen);
    expect(resumed.headers['last-event-id']).toBe(lastSeen);
    await publishing;
    await resumed.until(
      () => idsOf(resumed).at(-1) === 'steady-119',
      10_000,
      'the last update on the resumed stream',
    );
    expect([...idsOf(onDoomed), ...idsOf(resumed)]).toEqual(ids);
  });

  it('replays history from Redis on a hub started after it was published', async () => {
    const late = await startHub();
    const replayed = await subscribe(late, 'cross', 'earliest');
    await replayed.eventCount(30);
    expect(idsOf(replayed)).toEqual(range('cross-', 30));
    const resumed = await subscribe(late, 'cross', 'cross-19');
    await resumed.eventCount(10);
    expect(resumed.headers['last-event-id']).toBe('cross-19');
    expect(idsOf(resumed)).toEqual(range('cross-', 30).slice(20));
  });

  it('answers 503 with Retry-After while Redis is down, keeps streams open, and goes on after', async () => {
    const [a, b] = hubs as [ServedHub, ServedHub];
    const listening = await subscribe(b, 'outage');
    expect((await publish(a, 'outage', 'outage-before')).status).toBe(200);
    await listening.eventCount(1);

    await redis.kill('SIGKILL');
    const began = Date.now();
    const refused = await publish(a, 'outage', 'outage-refused');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.text()).toMatch(/Redis at 127\.0\.0\.1:\d+ (is unreachable|could not)/);
    expect(Date.now() - began).toBeLessThan(3000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(listening.ended).toBe(false);

    await redis.restart();
    let status = 0;
    const deadline = Date.now() + 10_000;
    while (status !== 200 && Date.now() < deadline) {
      status = (await publish(a, 'outage', 'outage-after')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    await listening.until(
      () => idsOf(listening).includes('outage-after'),
      10_000,
      'the update after the outage',
    );
    expect(idsOf(listening)).toEqual(['outage-before', 'outage-after']);
    expect(listening.ended).toBe(false);
  });

  it('tells resuming subscribers when Redis lost the log (FLUSHALL)', async () => {
    const [a, b] = hubs as [ServedHub, ServedHub];
    const live = await subscribe(b, 'flush');
    expect((await publish(a, 'flush', 'flush-before')).status).toBe(200);
    await live.eventCount(1);

    await redis.flush();
    expect((await publish(a, 'flush', 'flush-after')).status).toBe(200);
    // The node finds the log reset: its streams are closed so that their clients resume...
    await live.closed(10_000);
    expect(live.retries.length).toBeGreaterThan(0);
    // ...and a resume from before the loss is told, with `Last-Event-ID: earliest`, and gets
    // what the new log holds.
    const resumed = await subscribe(b, 'flush', 'flush-before');
    expect(resumed.headers['last-event-id']).toBe('earliest');
    await resumed.eventCount(1);
    expect(idsOf(resumed)).toEqual(['flush-after']);
  });
});
