import {
  BrokerConfigError,
  BrokerUnavailableError,
  createLogger,
  type PresenceRecord,
} from '@tidings/hub';
import { parseRedisTransport, RedisPresence } from '@tidings/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';

const logger = createLogger({ level: 'silent' });
const HEARTBEAT = 200;
const TTL = 1000;

const record = (subscriber: string, topic = 'https://example.com/books/1'): PresenceRecord => ({
  subscriber,
  draft08: false,
  matchers: [{ matchType: 'exact', match: topic }],
});

const idsOf = (records: readonly PresenceRecord[]) => records.map((r) => r.subscriber).sort();

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('presence options of the redis:// transport', () => {
  const parse = (query: string) => parseRedisTransport(new URL(`redis://127.0.0.1:6390${query}`));

  it('defaults to a 5 s heartbeat and a 15 s ttl, and reads both', () => {
    expect(parse('')).toMatchObject({ presenceHeartbeatMs: 5000, presenceTtlMs: 15_000 });
    expect(parse('?presence_heartbeat=1s&presence_ttl=2500ms')).toMatchObject({
      presenceHeartbeatMs: 1000,
      presenceTtlMs: 2500,
    });
  });

  it('refuses a ttl under twice the heartbeat, and a heartbeat of 0, saying why', () => {
    expect(() => parse('?presence_heartbeat=5s&presence_ttl=5s')).toThrow(BrokerConfigError);
    // One late heartbeat must not get a live node claimed: the ttl covers two.
    expect(() => parse('?presence_heartbeat=5s&presence_ttl=9999ms')).toThrow(
      /presence_ttl: 9999 ms must be at least twice presence_heartbeat \(5000 ms\)/,
    );
    expect(parse('?presence_heartbeat=5s&presence_ttl=10s')).toMatchObject({
      presenceTtlMs: 10_000,
    });
    expect(() => parse('?presence_ttl=3s')).toThrow(
      /presence_ttl: 3000 ms must be at least twice presence_heartbeat \(5000 ms\)/,
    );
    expect(() => parse('?presence_heartbeat=0&presence_ttl=1s')).toThrow(/at least 1ms/);
    expect(() => parse('?presence_ttl=soon')).toThrow(/presence_ttl: "soon" is not a duration/);
  });
});

describe.skipIf(!redisServerBinary)('Redis presence on a real redis-server', () => {
  let server: RedisServer;
  let redis: Redis;
  let keys = 0;
  const open: RedisPresence[] = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    await redis.connect();
  });
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((presence) => presence.close()));
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const presenceOn = (key: string, departed: PresenceRecord[] = []) => {
    const options = parseRedisTransport(
      new URL(
        server.url(`?key=${key}&timeout=300ms&presence_heartbeat=${HEARTBEAT}&presence_ttl=${TTL}`),
      ),
    );
    const presence = new RedisPresence(options, logger);
    open.push(presence);
    const started = presence.start({ departed: (records) => departed.push(...records) });
    return { presence, started };
  };

  it('lists every live node: its own subscribers at once, the others once written', async () => {
    const key = `presence-${++keys}`;
    const a = presenceOn(key);
    const b = presenceOn(key);
    await Promise.all([a.started, b.started]);
    a.presence.add(record('urn:uuid:a1'));
    a.presence.add(record('urn:uuid:a2', 'https://example.com/{id}'));
    b.presence.add(record('urn:uuid:b1'));
    expect(idsOf(await a.presence.list())).toContain('urn:uuid:a1');
    const all = ['urn:uuid:a1', 'urn:uuid:a2', 'urn:uuid:b1'];
    await until(async () => idsOf(await b.presence.list()).join() === all.join(), 'b lists all');
    expect((await b.presence.list()).find((r) => r.subscriber === 'urn:uuid:a2')).toEqual(
      record('urn:uuid:a2', 'https://example.com/{id}'),
    );

    a.presence.remove('urn:uuid:a1');
    await until(
      async () => idsOf(await b.presence.list()).join() === 'urn:uuid:a2,urn:uuid:b1',
      'b sees the removal',
    );
    // One hash per node, one place per node in the set.
    expect(await redis.zcard(`${key}:presence:nodes`)).toBe(2);
    expect(await redis.hkeys(`${key}:presence:node:${a.presence.node}`)).toEqual(['urn:uuid:a2']);
  });

  it('drops a node that stopped beating, and hands its subscribers to one live node once', async () => {
    const key = `presence-${++keys}`;
    const departedOnB: PresenceRecord[] = [];
    const departedOnC: PresenceRecord[] = [];
    const b = presenceOn(key, departedOnB);
    const c = presenceOn(key, departedOnC);
    await Promise.all([b.started, c.started]);
    // A node as a killed hub leaves it: registered, then silent.
    const [seconds, micros] = await redis.time();
    const lapsesAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + TTL;
    const dead = 'a-killed-node';
    await redis.zadd(`${key}:presence:nodes`, lapsesAt, dead);
    await redis.hset(
      `${key}:presence:node:${dead}`,
      'urn:uuid:gone1',
      JSON.stringify(record('urn:uuid:gone1')),
      'urn:uuid:gone2',
      JSON.stringify(record('urn:uuid:gone2')),
    );
    expect(idsOf(await b.presence.list())).toEqual(['urn:uuid:gone1', 'urn:uuid:gone2']);

    await until(async () => (await b.presence.list()).length === 0, 'the dead node to lapse');
    await until(
      async () => departedOnB.length + departedOnC.length >= 2,
      'a live node to claim it',
    );
    expect(await redis.exists(`${key}:presence:node:${dead}`)).toBe(0);
    expect(await redis.zscore(`${key}:presence:nodes`, dead)).toBeNull();
    // A few more heartbeats of both: nobody claims it a second time.
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT * 4));
    const departed = [...departedOnB, ...departedOnC];
    expect(idsOf(departed)).toEqual(['urn:uuid:gone1', 'urn:uuid:gone2']);
    expect(departedOnB.length === 0 || departedOnC.length === 0).toBe(true);
  });

  it('leaves at once on close', async () => {
    const key = `presence-${++keys}`;
    const a = presenceOn(key);
    const b = presenceOn(key);
    await Promise.all([a.started, b.started]);
    a.presence.add(record('urn:uuid:leaving'));
    await until(async () => (await b.presence.list()).length === 1, 'b lists it');
    await a.presence.close();
    expect(await b.presence.list()).toEqual([]);
    expect(await redis.zcard(`${key}:presence:nodes`)).toBe(1);
  });

  it('fails to list while Redis is down, and writes its subscribers again when Redis is back', async () => {
    const key = `presence-${++keys}`;
    const a = presenceOn(key);
    const b = presenceOn(key);
    await Promise.all([a.started, b.started]);
    a.presence.add(record('urn:uuid:kept'));
    await until(async () => (await b.presence.list()).length === 1, 'b lists it');

    await server.kill();
    await expect(a.presence.list()).rejects.toBeInstanceOf(BrokerUnavailableError);
    // Added while Redis is down: written with the rest once it is back.
    a.presence.add(record('urn:uuid:added-during-outage'));
    await server.restart();
    // A Redis that comes back empty (no persistence, or a failover) is refilled too.
    await server.flush();
    await until(
      async () =>
        idsOf(await b.presence.list().catch(() => [])).join() ===
        'urn:uuid:added-during-outage,urn:uuid:kept',
      'b lists both again',
    );
  });

  it('refuses to start when Redis cannot be reached', async () => {
    const options = parseRedisTransport(new URL('redis://127.0.0.1:1?timeout=200ms'));
    const presence = new RedisPresence(options, logger);
    await expect(presence.start({ departed: () => {} })).rejects.toThrow(
      /cannot reach Redis at 127\.0\.0\.1:1/,
    );
  });
});
