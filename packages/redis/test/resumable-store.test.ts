import { RedisResumableStore } from '@tidings/redis';
import {
  INTERRUPTED,
  type ResumableEvent,
  ResumableStreams,
  STOP_REQUESTED,
  type StreamSource,
} from '@tidings/server';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fast = { leaseMs: 300, pollMs: 100, graceMs: 5_000 };

function tokens(list: string[], delayMs = 0): StreamSource {
  return async function* (signal) {
    for (const data of list) {
      if (delayMs > 0) await sleep(delayMs);
      if (signal.aborted) return;
      yield { type: 'token', data };
    }
  };
}

async function collect(events: AsyncIterable<ResumableEvent> | undefined, max = Infinity) {
  const out: ResumableEvent[] = [];
  if (!events) return out;
  for await (const event of events) {
    out.push(event);
    if (out.length >= max) break;
  }
  return out;
}

describe.skipIf(!redisServerBinary)('RedisResumableStore on a real redis-server', () => {
  let server: RedisServer;
  const stores: RedisResumableStore[] = [];
  /** A store with a connection of its own: another instance of the app. */
  const instance = () => {
    const store = new RedisResumableStore({ redis: server.url(), prefix: 'test:' });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await server?.stop();
  });

  it('keeps appends idempotent per producer and position, across connections', async () => {
    const a = instance();
    const b = instance();
    expect(await a.create('idem', 'p', 5_000)).toBe(true);
    expect(await b.create('idem', 'q', 5_000)).toBe(false);
    expect(await a.append('idem', 'p', 0, [{ type: 'token', data: 'héllo ✓' }], 1_000)).toBe(
      'appended',
    );
    expect(await b.append('idem', 'p', 0, [{ type: 'token', data: 'héllo ✓' }], 1_000)).toBe(
      'duplicate',
    );
    expect(await b.append('idem', 'q', 1, [{ type: 'token', data: 'x' }], 1_000)).toBe('lost');
    await expect(a.append('idem', 'p', 3, [{ type: 't', data: '' }], 1_000)).rejects.toThrow(
      /append at 3, but the next position is 1/,
    );
    expect(await a.append('idem', 'p', 1, [{ type: 'done', data: '' }], 1_000)).toBe('appended');
    expect(await a.append('idem', 'p', 2, [{ type: 'token', data: 'late' }], 1_000)).toBe('lost');
    expect(await b.read('idem', -1, 10)).toEqual({
      entries: [
        { seq: 0, type: 'token', data: 'héllo ✓' },
        { seq: 1, type: 'done', data: '' },
      ],
      length: 2,
      ended: true,
    });
    expect(await b.read('idem', 0, 10)).toMatchObject({ entries: [{ seq: 1, type: 'done' }] });
    expect(await b.read('missing', -1, 10)).toBeUndefined();

    // Batches: whole, and a retry overlapping what is stored adds only the rest.
    const t = (data: string) => ({ type: 't', data });
    await a.create('batch', 'p', 5_000);
    expect(await a.append('batch', 'p', 0, [t('a'), t('b')], 1_000)).toBe('appended');
    expect(await b.append('batch', 'p', 1, [t('b'), t('c')], 1_000)).toBe('appended');
    expect(await b.append('batch', 'p', 0, [t('a'), t('b'), t('c')], 1_000)).toBe('duplicate');
    expect((await a.read('batch', -1, 10))?.entries.map((e) => e.data)).toEqual(['a', 'b', 'c']);
  });

  it('retains an ended stream by key expiry, and the lease is a key with PX expiry', async () => {
    const store = instance();
    const redis = new Redis(server.url());
    try {
      await store.create('ttl', 'p', 5_000);
      const leaseTtl = await redis.pttl('test:ttl:lease');
      expect(leaseTtl).toBeGreaterThan(4_000);
      expect(leaseTtl).toBeLessThanOrEqual(5_000);
      await store.append('ttl', 'p', 0, [{ type: 'done', data: '' }], 200);
      expect(await redis.exists('test:ttl:lease')).toBe(0);
      expect(await redis.pttl('test:ttl:log')).toBeLessThanOrEqual(200);
      await sleep(300);
      expect(await store.read('ttl', -1, 10)).toBeUndefined();
      expect(await redis.exists('test:ttl:log', 'test:ttl:meta')).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it('streams across instances: produced on one, read live and resumed on another', async () => {
    const producing = new ResumableStreams({ ...fast, store: instance() });
    const reading = new ResumableStreams({ ...fast, store: instance() });
    const words = Array.from({ length: 20 }, (_, i) => `w${i} `);
    const started = await producing.startStream('across', tokens(words, 5));
    const first = await collect(await reading.readStream('across'), 5);
    const rest = await collect(await producing.readStream('across', first.at(-1)!.id));
    const all = [...first, ...rest];
    expect(all.filter((e) => e.event === 'token').map((e) => e.data)).toEqual(words);
    expect(all.at(-1)).toEqual({ id: 'across.20', event: 'done', data: '' });
    await expect(started.ended).resolves.toBe('done');
  });

  it('a stop from another instance aborts the source where it runs; readers get `stopped`', async () => {
    const producing = new ResumableStreams({ ...fast, store: instance() });
    const other = new ResumableStreams({ ...fast, store: instance() });
    let aborted = false;
    const started = await producing.startStream('stop', async function* (signal) {
      yield { type: 'token', data: 'one' };
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      aborted = true;
    });
    const reading = collect(await other.readStream('stop'));
    await sleep(50);
    expect(await other.stop('stop')).toBe(true);
    const events = await reading;
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['token', 'one'],
      ['stopped', STOP_REQUESTED],
    ]);
    await expect(started.ended).resolves.toBe('stopped');
    expect(aborted).toBe(true);
    expect(await other.stop('stop')).toBe(false);
  });

  it('a producer that stops renewing (its connection gone) leaves readers `failed` within the bound', async () => {
    const dying = instance();
    await dying.create('orphan', 'dead', 300);
    await dying.append('orphan', 'dead', 0, [{ type: 'token', data: 'stored' }], 60_000);
    await dying.close();
    const reader = new ResumableStreams({ ...fast, store: instance() });
    const began = Date.now();
    const events = await collect(await reader.readStream('orphan'));
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['token', 'stored'],
      ['failed', INTERRUPTED],
    ]);
    expect(Date.now() - began).toBeLessThan(300 + 100 + 2_000);
  });

  it('any pattern of disconnects and resumes on any instance yields the stream exactly once', async () => {
    const instances = [0, 1, 2].map(() => new ResumableStreams({ ...fast, store: instance() }));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.record({ instance: fc.nat(2), take: fc.integer({ min: 1, max: 5 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        async (texts, visits) => {
          const id = `prop-${run++}`;
          await instances[visits[0]!.instance]!.startStream(id, tokens(texts, 1));
          const seen: ResumableEvent[] = [];
          let lastEventId = '';
          for (let visit = 0; ; visit++) {
            const { instance: at, take } = visits[visit % visits.length]!;
            const reader = await instances[at]!.readStream(id, lastEventId);
            if (!reader) break;
            const got = await collect(reader, take);
            seen.push(...got);
            if (got.length > 0) lastEventId = got.at(-1)!.id;
          }
          expect(seen.filter((e) => e.event === 'token').map((e) => e.data)).toEqual(texts);
          expect(seen.filter((e) => e.event === 'done')).toHaveLength(1);
          expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
        },
      ),
      { numRuns: 25 },
    );
  });
});
