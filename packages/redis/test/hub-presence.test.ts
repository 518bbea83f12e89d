import { mintToken } from '@tidings/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import { type ServedHub, serveHub } from '../../hub/test/cli-process.js';
import { RawSubscriber } from '../../hub/test/raw-subscriber.js';

/**
 * The subscriptions API across `tidings serve --subscriptions --transport redis://…`
 * processes on one real redis-server: any node lists the subscribers of all, and a killed
 * node's subscribers leave within presence_ttl + presence_heartbeat, announced once.
 */
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const HUB = '/.well-known/mercure';
const SUBSCRIPTIONS = `${HUB}/subscriptions`;
const HEARTBEAT_MS = 250;
const TTL_MS = 1000;

interface Listed {
  subscriber: string;
  topic: string;
  active: boolean;
}

describe.skipIf(!redisServerBinary)('the subscriptions API across hubs sharing one Redis', () => {
  let redis: RedisServer;
  let token: string;
  const hubs: ServedHub[] = [];
  const subscribers: RawSubscriber[] = [];

  const startHub = async (): Promise<ServedHub> => {
    const hub = await serveHub(
      SECRET,
      redis.url(
        `?key=presence&timeout=500ms&presence_heartbeat=${HEARTBEAT_MS}ms&presence_ttl=${TTL_MS}ms`,
      ),
      ['--subscriptions'],
    );
    hubs.push(hub);
    return hub;
  };

  const subscribe = async (hub: ServedHub, topic: string, headers = {}) => {
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

  const list = async (hub: ServedHub, path = SUBSCRIPTIONS): Promise<Response> =>
    fetch(`http://127.0.0.1:${hub.port}${path}`, {
      headers: { Authorization: `Bearer ${token}` },
    });

  const listedOn = async (hub: ServedHub, topic: string): Promise<Listed[]> => {
    const response = await list(hub, `${SUBSCRIPTIONS}/${encodeURIComponent(topic)}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { subscriptions: Listed[] }).subscriptions;
  };

  /** Polls; the bound under test is far below the wait. */
  const until = async (condition: () => Promise<boolean>, what: string, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

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

  it('lists a subscriber of one hub on every hub, by topic and by subscriber', async () => {
    const [a, b, c] = hubs as [ServedHub, ServedHub, ServedHub];
    await subscribe(a, 'https://example.com/books/1');
    for (const hub of [a, b, c]) {
      await until(
        async () => (await listedOn(hub, 'https://example.com/books/1')).length === 1,
        `hub on port ${hub.port} to list the subscriber`,
      );
    }
    const [listed] = await listedOn(c, 'https://example.com/books/1');
    expect(listed).toMatchObject({ topic: 'https://example.com/books/1', active: true });
    const one = await list(
      b,
      `${SUBSCRIPTIONS}/${encodeURIComponent('https://example.com/books/1')}/${encodeURIComponent(listed!.subscriber)}`,
    );
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ subscriber: listed!.subscriber, active: true });
    expect(await listedOn(b, 'https://example.com/books/2')).toEqual([]);
  });

  it("drops a killed hub's subscribers within the bound, announcing each once as inactive", async () => {
    const [a, b] = hubs as [ServedHub, ServedHub, ServedHub];
    const doomed = hubs[2]!;
    // Watches every subscription event, on a hub that stays.
    const watcher = await subscribe(b, '*', { Authorization: `Bearer ${token}` });
    await subscribe(doomed, 'https://example.com/doomed');
    await until(
      async () => (await listedOn(a, 'https://example.com/doomed')).length === 1,
      'the subscriber of the doomed hub to be listed',
    );
    const [listed] = await listedOn(a, 'https://example.com/doomed');

    doomed.run.child.kill('SIGKILL');
    await doomed.run.exited;
    await until(
      async () => (await listedOn(a, 'https://example.com/doomed')).length === 0,
      'the subscriber of the killed hub to leave',
    );
    expect(await listedOn(b, 'https://example.com/doomed')).toEqual([]);
    const leaving = () =>
      watcher.events.filter((event) => {
        const document = JSON.parse(event.data) as Listed;
        return document.subscriber === listed!.subscriber && document.active === false;
      });
    await watcher.until(() => leaving().length > 0, 10_000, 'the inactive subscription event');
    // Several heartbeats of both survivors later: still announced once.
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 5));
    expect(leaving()).toHaveLength(1);
    expect(JSON.parse(leaving()[0]!.data)).toMatchObject({
      topic: 'https://example.com/doomed',
      active: false,
    });
  });

  it('answers 503 with Retry-After while Redis is down, and lists again after', async () => {
    const [a, b] = hubs as [ServedHub, ServedHub];
    await redis.kill('SIGKILL');
    const refused = await list(a);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.text()).toMatch(/subscriptions API cannot read .*Redis at 127\.0\.0\.1/);
    await redis.restart();
    await until(
      async () =>
        (await list(b)).status === 200 &&
        (await listedOn(b, 'https://example.com/books/1')).length === 1,
      'the subscriptions API to answer again',
    );
  });
});
