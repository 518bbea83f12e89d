import {
  BrokerConfigError,
  type BrokerFeed,
  BrokerUnavailableError,
  createLogger,
  type FeedGap,
  type StoredUpdate,
  type Update,
} from '@tidings/hub';
import { parseRedisTransport, REDIS_DEFAULTS, RedisBroker } from '@tidings/redis';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';

const update = (id: string): Update => ({ topics: ['t'], data: id, private: false, id });

class Feed implements BrokerFeed {
  readonly updates: StoredUpdate[] = [];
  readonly gaps: FeedGap[] = [];
  update = (stored: StoredUpdate) => void this.updates.push(stored);
  gap = (gap: FeedGap) => void this.gaps.push(gap);
  health = () => {};
  ids = () => this.updates.map((stored) => stored.id);
}

async function until(condition: () => boolean, what: () => unknown, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; state: ${JSON.stringify(what())}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('redis:// transport URLs', () => {
  const parse = (text: string) => parseRedisTransport(new URL(text));

  it('reads credentials, database and options, with documented defaults', () => {
    expect(parse('redis://127.0.0.1:6379')).toEqual({
      ...REDIS_DEFAULTS,
      connection: 'redis://127.0.0.1:6379',
    });
    expect(
      parse(
        'rediss://user:p%40ss@cache.example:6380/2?key=app&max_events=50&max_age=1h&wait=1&wait_timeout=250ms&timeout=3s&presence_heartbeat=1s&presence_ttl=4s',
      ),
    ).toEqual({
      connection: 'rediss://user:p%40ss@cache.example:6380/2',
      key: 'app',
      maxEvents: 50,
      maxAgeMs: 3_600_000,
      waitReplicas: 1,
      waitTimeoutMs: 250,
      timeoutMs: 3000,
      presenceHeartbeatMs: 1000,
      presenceTtlMs: 4000,
    });
  });

  it.each([
    ['redis://h:6379?max_events=0', /max_events: "0" is not a whole number of at least 1/],
    ['redis://h:6379?max_events=lots', /max_events: "lots"/],
    ['redis://h:6379?max_age=soon', /max_age: "soon" is not a duration/],
    ['redis://h:6379/cache', /the path must be a database number/],
    ['redis://h:6379?key=a%20b', /key: "a b" is not a key prefix/],
    [
      'redis://h:6379?sentinels=a:26379',
      /name the Sentinels in a Sentinel URL instead, e.g. redis\+sentinel:/,
    ],
    ['redis://h:6379?cluster=1', /unknown parameter "cluster".*takes key, max_events/],
  ])('refuses %s with a line to act on', (text, message) => {
    expect(() => parse(text)).toThrow(BrokerConfigError);
    expect(() => parse(text)).toThrow(message);
  });
});

describe.skipIf(!redisServerBinary)('the Redis broker, beyond the contract', () => {
  let server: RedisServer;
  let admin: Redis;
  let keys = 0;
  const open: RedisBroker[] = [];
  const broker = (options = '', key = `own-${++keys}`): RedisBroker => {
    const created = RedisBroker.fromUrl(new URL(server.url(`?key=${key}&${options}`)), {
      logger: createLogger({ level: 'silent' }),
      registry: new Registry(),
    });
    open.push(created);
    return created;
  };

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.port, '127.0.0.1');
    // It reconnects by itself after the crash test; its errors meanwhile are expected.
    admin.on('error', () => {});
  });
  afterEach(async () => {
    server.freeze(false);
    await Promise.allSettled(open.splice(0).map((each) => each.close()));
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('keeps history and its id index bounded by max_events', async () => {
    const log = broker('max_events=5', 'bounded');
    await log.start(new Feed());
    for (let i = 0; i < 30; i++) await log.publish(update(`u${i}`));
    expect(await admin.xlen('bounded:log')).toBe(5);
    expect(await admin.hlen('bounded:ids')).toBe(5);
    const head = await log.head();
    const page = await log.replay({ kind: 'earliest' }, { upTo: head, limit: 100 });
    expect(page.updates.map((stored) => stored.id)).toEqual(['u25', 'u26', 'u27', 'u28', 'u29']);
    const evicted = await log.replay({ kind: 'id', id: 'u3' }, { upTo: head, limit: 100 });
    expect(evicted.outcome).toBe('unknown-id');
  });

  it('drops updates older than max_age on the next append', async () => {
    const log = broker('max_age=100ms');
    await log.start(new Feed());
    await log.publish(update('old'));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await log.publish(update('new'));
    const page = await log.replay({ kind: 'earliest' }, { upTo: await log.head(), limit: 10 });
    expect(page.updates.map((stored) => stored.id)).toEqual(['new']);
  });

  it('drops updates older than max_age from a log nobody appends to', async () => {
    const log = broker('max_age=300ms', 'idle-age');
    await log.start(new Feed());
    for (const id of ['a', 'b', 'c']) await log.publish(update(id));
    expect(await admin.xlen('idle-age:log')).toBe(3);
    // No more appends: the idle feed trims them (it reads for a second, then trims).
    const deadline = Date.now() + 10_000;
    while ((await admin.xlen('idle-age:log')) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await admin.xlen('idle-age:log')).toBe(0);
    expect(await admin.hlen('idle-age:ids')).toBe(0);
    const page = await log.replay({ kind: 'earliest' }, { upTo: await log.head(), limit: 10 });
    expect(page.updates).toEqual([]);
    // The log goes on in the same epoch.
    const next = await log.publish(update('d'));
    expect(next.sequence).toBe(4);
  });

  it('keeps what it acknowledged across a Redis crash (append-only file, fsync always)', async () => {
    const log = broker('', 'durable');
    await log.start(new Feed());
    const kept = await log.publish(update('kept'));
    await server.kill('SIGKILL');
    await server.restart();
    const reopened = broker('', 'durable');
    await reopened.start(new Feed());
    const head = await reopened.head();
    expect(head).toMatchObject({ epoch: kept.epoch, sequence: kept.sequence, lastEventId: 'kept' });
  });

  it('reports a gap when the log was trimmed past what the feed had read', async () => {
    const reader = broker('max_events=3', 'trimmed');
    const feed = new Feed();
    await reader.start(feed);
    const writer = broker('max_events=3', 'trimmed');
    await writer.start(new Feed());
    await writer.publish(update('first'));
    await until(() => feed.updates.length === 1, feed.ids);
    // Cut every blocking read: while they reconnect, the writer goes 10 updates ahead.
    const clients = (await admin.client('LIST')) as string;
    const feedClients = [...clients.matchAll(/id=(\d+) [^\n]*name=tidings-feed /g)].map(
      (m) => m[1]!,
    );
    expect(feedClients).toHaveLength(2);
    for (const id of feedClients) await admin.client('KILL', 'ID', id);
    for (let i = 0; i < 10; i++) await writer.publish(update(`u${i}`));
    await until(() => feed.ids().includes('u9'), feed.ids);
    expect(feed.ids()).toEqual(['first', 'u7', 'u8', 'u9']);
    expect(feed.gaps).toHaveLength(1);
    expect(feed.gaps[0]).toMatchObject({
      after: { sequence: 1 },
      resumeAfter: { sequence: 8 },
      reason: expect.stringMatching(/trimmed/),
    });
  });

  it('starts a new epoch, told through a gap, when the log went back (failover to a lagging replica)', async () => {
    const reader = broker('', 'rewound');
    const feed = new Feed();
    await reader.start(feed);
    const before = await reader.publish(update('a'));
    for (const id of ['b', 'c', 'd']) await reader.publish(update(id));
    await until(() => feed.updates.length === 4, feed.ids);
    // What a replica that had only the first two entries looks like once promoted.
    await admin.xdel('rewound:log', '3-0', '4-0');
    await admin.hset('rewound:meta', 'sequence', '2', 'last', 'b');
    await admin.hdel('rewound:ids', 'c', 'd');
    await until(
      () => feed.gaps.length > 0,
      () => feed.gaps,
    );
    expect(feed.gaps[0]).toMatchObject({
      after: { epoch: before.epoch, sequence: 4 },
      resumeAfter: { sequence: 0 },
      reason: expect.stringMatching(/went back from sequence 4 to 2/),
    });
    const after = await reader.publish(update('e'));
    expect(after.epoch).not.toBe(before.epoch);
    expect(after.sequence).toBe(1);
    await until(() => feed.ids().includes('e'), feed.ids);
    expect(feed.ids()).toEqual(['a', 'b', 'c', 'd', 'e']);
    const resumed = await reader.replay(
      { kind: 'id', id: 'b' },
      { upTo: await reader.head(), limit: 10 },
    );
    expect(resumed.outcome).toBe('unknown-id');
  });

  it('feeds updates without reading the epoch before every read of the stream', async () => {
    const reader = broker('', 'epoch-reads');
    const feed = new Feed();
    await reader.start(feed);
    await admin.config('RESETSTAT');
    for (let i = 0; i < 40; i++) {
      await reader.publish(update(`u${i}`));
      await until(() => feed.updates.length === i + 1, feed.ids);
    }
    const stats = await admin.info('commandstats');
    const calls = (command: string) =>
      Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    // One read per update woke the feed; the epoch is read on a timeout, a reconnection, an
    // entry of another epoch, or once a second while updates flow: far fewer times.
    expect(calls('xread')).toBeGreaterThanOrEqual(40);
    expect(calls('hmget')).toBeLessThan(calls('xread') / 2);
  });

  it('refuses a publish when fewer replicas than wait=N confirm it', async () => {
    const log = broker('wait=1&wait_timeout=100ms');
    await log.start(new Feed());
    await expect(log.publish(update('alone'))).rejects.toThrow(BrokerUnavailableError);
    await expect(log.publish(update('alone'))).rejects.toThrow(/only 0 of 1 Redis replicas/);
  });

  it('fails a publish within its timeout when Redis hangs, and goes on once it answers', async () => {
    const log = broker('timeout=300ms');
    const feed = new Feed();
    await log.start(feed);
    server.freeze();
    const began = Date.now();
    await expect(log.publish(update('hung'))).rejects.toThrow(BrokerUnavailableError);
    expect(Date.now() - began).toBeLessThan(2000);
    server.freeze(false);
    let published = false;
    const deadline = Date.now() + 5000;
    while (!published && Date.now() < deadline) {
      published = await log.publish(update('answered')).then(
        () => true,
        () => false,
      );
      if (!published) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await until(() => feed.ids().includes('answered'), feed.ids);
    // What timed out may or may not have been kept; it is never delivered twice.
    expect(new Set(feed.ids()).size).toBe(feed.ids().length);
  });

  it('says which Redis it cannot reach at start, and keeps nothing retrying', async () => {
    const down = RedisBroker.fromUrl(new URL('redis://127.0.0.1:1'), {
      logger: createLogger({ level: 'silent' }),
      registry: new Registry(),
    });
    await expect(down.start(new Feed())).rejects.toThrow(
      /cannot reach Redis at 127.0.0.1:1: connect ECONNREFUSED/,
    );
    expect((await down.health()).ready).toBe(false);
  });
});
