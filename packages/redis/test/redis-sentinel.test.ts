import {
  BrokerConfigError,
  type BrokerFeed,
  BrokerUnavailableError,
  createBroker,
  createLogger,
  type FeedGap,
  type StoredUpdate,
  type Update,
} from '@tidings/hub';
import {
  parseRedisTransport,
  parseRedisTransportText,
  REDIS_DEFAULTS,
  RedisBroker,
  RedisChannel,
  RedisResumableStore,
} from '@tidings/redis';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisSentinel } from '../../../test-support/redis-sentinel.js';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import { info, offset, Topology, until } from './sentinel-topology.js';

const update = (id: string): Update => ({ topics: ['t'], data: id, private: false, id });

class Feed implements BrokerFeed {
  readonly updates: StoredUpdate[] = [];
  readonly gaps: FeedGap[] = [];
  update = (stored: StoredUpdate) => void this.updates.push(stored);
  gap = (gap: FeedGap) => void this.gaps.push(gap);
  health = () => {};
  ids = () => this.updates.map((stored) => stored.id);
}

describe('redis+sentinel:// transport URLs', () => {
  const parse = parseRedisTransportText;

  it('reads the Sentinels, the master name, the database, both credentials and TLS', () => {
    expect(parse('redis+sentinel://127.0.0.1:26379/mymaster')).toEqual({
      ...REDIS_DEFAULTS,
      connection: {
        sentinels: [{ host: '127.0.0.1', port: 26379 }],
        name: 'mymaster',
        username: undefined,
        password: undefined,
        db: 0,
        sentinelUsername: undefined,
        sentinelPassword: undefined,
        tls: false,
      },
    });
    expect(
      parse(
        'rediss+sentinel://app:p%40ss@s1.example,s2.example:26380,[::1]:26381/cache/3?sentinel_username=watch&sentinel_password=s%26cret&key=news&wait=1',
      ),
    ).toEqual({
      ...REDIS_DEFAULTS,
      key: 'news',
      waitReplicas: 1,
      connection: {
        sentinels: [
          { host: 's1.example', port: 26379 },
          { host: 's2.example', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'cache',
        username: 'app',
        password: 'p@ss',
        db: 3,
        sentinelUsername: 'watch',
        sentinelPassword: 's&cret',
        tls: true,
      },
    });
  });

  it('gets the whole host list through createBroker, which parses URLs for every transport', async () => {
    const broker = await createBroker('redis+sentinel://127.0.0.1:1,127.0.0.1:2/m?timeout=50ms');
    expect((broker as RedisBroker).address).toBe('master m via Sentinel 127.0.0.1:1, 127.0.0.1:2');
    await broker.close();
  });

  it.each([
    [
      'redis+sentinel:///mymaster',
      /names no Sentinel: write e.g. redis\+sentinel:\/\/sentinel-1:26379/,
    ],
    ['redis+sentinel://s1:26379', /names no master: the path is the name the Sentinels monitor/],
    ['redis+sentinel://s1:26379/', /names no master/],
    [
      'redis+sentinel://s1:26379,s2:http/m',
      /the Sentinel port in "s2:http" must be a number from 1 to 65535/,
    ],
    ['redis+sentinel://s1:70000/m', /the Sentinel port in "s1:70000" must be a number/],
    ['redis+sentinel://s1,,s2/m', /"" is not a Sentinel address/],
    [
      'redis+sentinel://s1/m/zero',
      /the path must be \/<master name>\[\/<database number>\], got "\/m\/zero"/,
    ],
    ['redis+sentinel://s1/m/0/x', /the path must be \/<master name>/],
    ['redis+sentinel://s1/m?wait=-1', /parameter wait: "-1" is not a whole number/],
    ['redis+sentinel://s1/m?sentinel=s2', /name the Sentinels in a Sentinel URL/],
    [
      'redis+sentinel://s1/m?tls=1',
      /unknown parameter "tls".*takes key, .*sentinel_username and sentinel_password/,
    ],
    [
      'redis://h:6379?sentinel_password=x',
      /unknown parameter "sentinel_password".*redis:\/\/ takes key/,
    ],
  ])('refuses %s with a line to act on', (text, message) => {
    expect(() => parse(text)).toThrow(BrokerConfigError);
    expect(() => parse(text)).toThrow(message);
  });

  it('never shows the password in a message', () => {
    expect(() => parse('redis+sentinel://u:hunter2@s1:x/m')).toThrow(/u:\*\*\*@s1:x/);
    expect(() => parse('redis+sentinel://u:hunter2@s1:x/m')).not.toThrow(/hunter2/);
  });

  it.each([
    ['redis://:hunter2@h:6379/abc', /"redis:\/\/:\*\*\*@h:6379\/abc": the path must be a database/],
    [
      'redis://:hunter2@h:6379?bogus=1',
      /unknown parameter "bogus" in transport URL "redis:\/\/:\*\*\*@h/,
    ],
    [
      'redis+sentinel://h1:99999/m?sentinel_password=hunter2',
      /sentinel_password=\*\*\*": the Sentinel port/,
    ],
    ['redis+sentinel://h1/m?sentinel_password=hunter2&bogus=1', /sentinel_password=\*\*\*&bogus=1/],
    ['redis+sentinel://:pass/hunter2@h1/m', /holds a "\/": percent-encode it as %2F/],
    ['redis+sentinel://:hunter2%zz@h1/m', /the password holds a malformed %-escape/],
  ])('refuses %s without showing its password', (text, message) => {
    expect(() => parse(text)).toThrow(BrokerConfigError);
    expect(() => parse(text)).toThrow(message);
    expect(() => parse(text)).not.toThrow(/hunter2/);
  });

  it('hides the password of a transport URL the hub cannot read', async () => {
    await expect(createBroker('redis://:hunter2@h:99999')).rejects.toThrow(
      /invalid transport URL "redis:\/\/:\*\*\*@h:99999"/,
    );
  });

  it('keeps redis:// as it was', () => {
    expect(parseRedisTransport(new URL('redis://127.0.0.1:6379/1'))).toEqual({
      ...REDIS_DEFAULTS,
      connection: 'redis://127.0.0.1:6379/1',
    });
  });
});

describe.skipIf(!redisServerBinary)('the Redis broker through Sentinel', () => {
  const open: RedisBroker[] = [];
  const broker = (url: string): RedisBroker => {
    const created = RedisBroker.fromUrl(
      new URL(url),
      { logger: createLogger({ level: 'silent' }), registry: new Registry() },
      url,
    );
    open.push(created);
    return created;
  };
  const topologies: Topology[] = [];
  const topology = async (replicas?: number): Promise<Topology> => {
    const started = new Topology();
    topologies.push(started);
    await started.start(replicas);
    return started;
  };

  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((each) => each.close()));
    await Promise.allSettled(topologies.splice(0).map((each) => each.stop()));
  });

  it('follows a failover: every acknowledged update is delivered once, in order, in one epoch', async () => {
    const redis = await topology(2);
    const publisher = broker(redis.url('?key=failover&wait=1&wait_timeout=2s'));
    const reader = broker(redis.url('?key=failover'));
    const feed = new Feed();
    await publisher.start(new Feed());
    await reader.start(feed);

    const acknowledged: string[] = [];
    let attempts = 0;
    const publishOne = async (): Promise<void> => {
      const id = `u${++attempts}`;
      try {
        await publisher.publish(update(id));
        acknowledged.push(id);
      } catch (error) {
        // 503 while there is no primary; "unreplicated" while the remaining replica resyncs:
        // both unacknowledged, and such an update may still be delivered.
        expect(error).toBeInstanceOf(BrokerUnavailableError);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    while (acknowledged.length < 10) await publishOne();
    const before = acknowledged.length;
    // Scripts are not replicated: whichever replica is promoted must be sent them again.
    for (const replica of redis.replicas) {
      expect(await info(replica.port, 'memory')).toMatch(/number_of_cached_scripts:0\r?\n/);
    }
    const oldPort = redis.primary.port;
    await redis.primary.kill('SIGKILL');

    const failover = redis.failedOverFrom(oldPort);
    let failedOver = false;
    void failover.then(() => {
      failedOver = true;
    });
    while (!failedOver || acknowledged.length < before + 10) await publishOne();
    const newPrimary = await failover;
    expect(newPrimary.port).not.toBe(oldPort);
    expect(await info(newPrimary.port, 'memory')).not.toMatch(/number_of_cached_scripts:0\r?\n/);

    await until(
      () => acknowledged.every((id) => feed.ids().includes(id)),
      () => ({ acknowledged, delivered: feed.ids() }),
    );
    const delivered = feed.ids();
    // Once each, in the order of the log; every acknowledged one among them, in its order.
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(delivered.filter((id) => acknowledged.includes(id))).toEqual(acknowledged);
    expect(feed.updates.map((stored) => stored.sequence)).toEqual(
      feed.updates.map((_, index) => feed.updates[0]!.sequence + index),
    );
    // The replica had everything (WAIT 1): the log lives on in the same epoch, no gap.
    expect(feed.gaps).toEqual([]);
    expect(new Set(feed.updates.map((stored) => stored.epoch)).size).toBe(1);
    expect((await reader.head()).epoch).toBe(feed.updates[0]!.epoch);
  });

  it('tells its subscribers when the new primary lacks updates the feed delivered: a new epoch', async () => {
    const redis = await topology(1);
    const node = broker(redis.url('?key=behind'));
    const feed = new Feed();
    await node.start(feed);
    await node.publish(update('replicated'));
    await until(
      () => feed.ids().includes('replicated'),
      () => feed.ids(),
    );
    const { epoch } = feed.updates[0]!;
    const [replica] = redis.replicas;
    // The replica is cut off (frozen, and its link closed by the primary, so nothing more
    // reaches it even from socket buffers) while the primary keeps, and the feed delivers,
    // two more updates...
    await until(
      async () =>
        offset(await info(replica!.port, 'replication')) ===
        offset(await info(redis.primary.port, 'replication')),
      () => 'the replica never caught up',
    );
    replica!.freeze();
    expect(await redis.primary.command('CLIENT KILL TYPE replica')).toBe(':1');
    await node.publish(update('lost-1'));
    await node.publish(update('lost-2'));
    await until(
      () => feed.ids().includes('lost-2'),
      () => feed.ids(),
    );
    // ...then the primary dies with them, and the replica that never had them is promoted.
    const oldPort = redis.primary.port;
    await redis.primary.kill('SIGKILL');
    replica!.freeze(false);
    await redis.failedOverFrom(oldPort);

    await until(
      () => feed.gaps.length > 0,
      () => ({ gaps: feed.gaps, delivered: feed.ids() }),
    );
    const [gap] = feed.gaps;
    expect(gap!.after).toEqual({ epoch, sequence: 3 });
    expect(gap!.resumeAfter.epoch).not.toBe(epoch);
    expect(gap!.resumeAfter.sequence).toBe(0);
    expect(gap!.reason).toMatch(/lacked the newest updates/);

    // The new epoch carries on: the next update is delivered after the gap, never as a
    // repeat of sequence 2 or 3 of the old one.
    let next: StoredUpdate | undefined;
    await until(
      async () => {
        next = await node.publish(update('after')).catch(() => undefined);
        return next !== undefined;
      },
      () => 'no publish succeeded on the new primary',
    );
    expect(next!.epoch).toBe(gap!.resumeAfter.epoch);
    await until(
      () => feed.ids().includes('after'),
      () => feed.ids(),
    );
    expect(feed.ids()).toEqual(['replicated', 'lost-1', 'lost-2', 'after']);
    expect(feed.updates.at(-1)).toMatchObject({ epoch: gap!.resumeAfter.epoch, sequence: 1 });
  });

  it('notices, after a reconnection, that its last position now names another update', async () => {
    // What a replica promoted while lagging looks like once other hubs published on it before
    // this node reconnected: the sequence is back where it was, but 2 and 3 are other updates.
    const server = await RedisServer.start();
    const admin = new Redis(server.port, '127.0.0.1');
    try {
      const node = broker(server.url('?key=again'));
      const feed = new Feed();
      await node.start(feed);
      for (const id of ['a', 'b', 'c']) await node.publish(update(id));
      await until(
        () => feed.ids().length === 3,
        () => feed.ids(),
      );
      const { epoch } = feed.updates[0]!;
      const entry = (id: string) => [
        'e',
        epoch,
        'i',
        id,
        't',
        String(Date.now()),
        'u',
        JSON.stringify({ ...update(id), acceptedAt: Date.now() }),
      ];
      // A stream keeps its top id after XDEL: rebuild it as the replica would have it.
      const [[, first]] = (await admin.xrange('again:log', '1-0', '1-0')) as [[string, string[]]];
      await admin
        .multi()
        .del('again:log')
        .xadd('again:log', '1-0', ...first)
        .hdel('again:ids', 'b', 'c')
        .xadd('again:log', '2-0', ...entry('other-b'))
        .xadd('again:log', '3-0', ...entry('other-c'))
        .hset('again:ids', 'other-b', 2, 'other-c', 3)
        .hset('again:meta', 'last', 'other-c')
        .exec();
      const clients = await admin.client('LIST');
      const feedId = /id=(\d+) .*name=tidings-feed /.exec(String(clients))?.[1];
      expect(feedId).toBeDefined();
      await admin.client('KILL', 'ID', feedId!);

      await until(
        () => feed.gaps.length > 0,
        () => ({ gaps: feed.gaps, delivered: feed.ids() }),
      );
      expect(feed.gaps[0]).toMatchObject({ after: { epoch, sequence: 3 } });
      expect(feed.gaps[0]!.resumeAfter.epoch).not.toBe(epoch);
      await node.publish(update('d'));
      await until(
        () => feed.ids().includes('d'),
        () => feed.ids(),
      );
      expect(feed.ids()).toEqual(['a', 'b', 'c', 'd']);
      expect(feed.updates.at(-1)).toMatchObject({
        epoch: feed.gaps[0]!.resumeAfter.epoch,
        sequence: 1,
      });
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });

  it('refuses a Redis in Cluster mode at start with a line to act on', async () => {
    const cluster = await RedisServer.start(undefined, ['--cluster-enabled', 'yes']);
    try {
      const node = broker(cluster.url('?key=c'));
      await expect(node.start(new Feed())).rejects.toThrow(BrokerConfigError);
      const again = broker(cluster.url('?key=c'));
      await expect(again.start(new Feed())).rejects.toThrow(
        /Redis at 127\.0\.0\.1:\d+ runs in Cluster mode, which the transport does not support; use a standalone Redis or a Sentinel-managed primary/,
      );
    } finally {
      await cluster.stop();
    }
  });

  it('fails to start with the reason when the Sentinels know no such master', async () => {
    const primary = await RedisServer.start();
    const sentinel = await RedisSentinel.start('known', primary);
    try {
      const node = broker(`redis+sentinel://127.0.0.1:${sentinel.port}/unknown?timeout=500ms`);
      await expect(node.start(new Feed())).rejects.toThrow(
        /cannot reach Redis at master unknown via Sentinel 127\.0\.0\.1:\d+: the Sentinels know no master of that name/,
      );
    } finally {
      await sentinel.stop();
      await primary.stop();
    }
  });

  it('opens a RedisChannel from a Sentinel URL with several hosts', async () => {
    await expect(
      RedisChannel.open({
        url: 'redis+sentinel://127.0.0.1:1,127.0.0.1:2/news-master',
        name: 'news',
      }),
    ).rejects.toThrow(
      /cannot reach Redis at master news-master via Sentinel 127\.0\.0\.1:1, 127\.0\.0\.1:2: no Sentinel answered/,
    );
  });

  it('serves a RedisResumableStore opened from a Sentinel URL, on the primary', async () => {
    const redis = await topology(0);
    const store = new RedisResumableStore({ redis: redis.url(), prefix: 'replies:' });
    const direct = new Redis(await redis.primaryPort(), '127.0.0.1');
    try {
      expect(await store.create('reply', 'producer', 5_000)).toBe(true);
      const done = [{ type: 'done', data: 'ok' }];
      expect(await store.append('reply', 'producer', 0, done, 1_000)).toBe('appended');
      expect(await store.read('reply', -1, 10)).toMatchObject({ length: 1, ended: true });
      // Written where the Sentinel says the primary is.
      expect(await direct.exists('replies:reply:log')).toBe(1);
    } finally {
      direct.disconnect();
      await store.close();
    }
  });

  it('refuses a Sentinel URL for a RedisResumableStore that it cannot read, saying why', () => {
    expect(() => new RedisResumableStore({ redis: 'redis+sentinel://127.0.0.1:26379/' })).toThrow(
      BrokerConfigError,
    );
  });

  it('fails to start with the reason when no Sentinel answers', async () => {
    const node = broker('redis+sentinel://127.0.0.1:1/nobody?timeout=200ms');
    await expect(node.start(new Feed())).rejects.toThrow(
      /cannot reach Redis at master nobody via Sentinel 127\.0\.0\.1:1: no Sentinel answered/,
    );
  });

  afterAll(async () => {
    await Promise.allSettled(topologies.map((each) => each.stop()));
  });
});
