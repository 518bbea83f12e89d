import {
  type Broker,
  BrokerConfigError,
  type BrokerFeed,
  createBroker,
  createUpdateId,
  MemoryBroker,
  type StoredUpdate,
} from '@tidings/hub';
import { describeBrokerConformance } from '@tidings/hub/broker-conformance';
import { afterEach, describe, expect, it, vi } from 'vitest';

const update = (id: string, data = id) => ({ topics: ['t'], data, private: false, id });

describe('transport URLs', () => {
  it('creates the memory broker from memory://', async () => {
    const broker = await createBroker('memory://');
    expect(broker).toBeInstanceOf(MemoryBroker);
    await broker.close();
  });

  it('names the known schemes when the scheme is unknown', async () => {
    await expect(createBroker('kafka://localhost:9092')).rejects.toThrow(BrokerConfigError);
    await expect(createBroker('kafka://localhost:9092')).rejects.toThrow(
      /unknown transport "kafka:\/\/".*memory:\/\//,
    );
    await expect(createBroker('not a url')).rejects.toThrow(/invalid transport URL "not a url"/);
  });

  it('refuses unknown or malformed memory:// parameters', async () => {
    await expect(createBroker('memory://?size=10')).rejects.toThrow(/unknown parameter "size"/);
    await expect(createBroker('memory://?max_events=ten')).rejects.toThrow(
      /"ten" is not a whole number/,
    );
    await expect(createBroker('memory://?max_bytes=lots')).rejects.toThrow(/not a size/);
    await expect(createBroker('memory://?max_age=forever')).rejects.toThrow(/not a duration/);
  });
});

describeBrokerConformance('memory', { create: async () => new MemoryBroker() });

describe('MemoryBroker', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const ids = async (broker: Broker): Promise<string[]> => {
    const head = await broker.head();
    const page = await broker.replay({ kind: 'earliest' }, { upTo: head, limit: 1000 });
    return page.updates.map((stored) => stored.id);
  };

  it('feeds each update before publish resolves (the feed queues it during a fan-out)', async () => {
    const broker = new MemoryBroker();
    const seen: StoredUpdate[] = [];
    await broker.start({ update: (stored) => seen.push(stored), gap() {}, health() {} });
    const first = await broker.publish(update('a'));
    expect(seen).toEqual([first]);
  });

  it('keeps history within max_events and max_bytes; an evicted id is unknown', async () => {
    const byCount = await createBroker('memory://?max_events=2');
    await byCount.start(silentFeed);
    for (const id of ['a', 'b', 'c']) await byCount.publish(update(id));
    const upTo = await byCount.head();
    const evicted = await byCount.replay({ kind: 'id', id: 'a' }, { upTo, limit: 10 });
    expect(evicted.outcome).toBe('unknown-id');
    expect(evicted.updates.map((u) => u.id)).toEqual(['b', 'c']);
    expect(evicted.precedingId).toBeUndefined();

    // Each of these encodes to 114 bytes: two fit in 250, three do not.
    const byBytes = await createBroker('memory://?max_bytes=250');
    await byBytes.start(silentFeed);
    for (const id of ['a', 'b', 'c']) await byBytes.publish(update(id, 'x'.repeat(100)));
    expect(await ids(byBytes)).toEqual(['b', 'c']);
  });

  it('says a cursor evicted between two pages is unknown, so the replay is not silently cut', async () => {
    const broker = await createBroker('memory://?max_events=3');
    await broker.start(silentFeed);
    for (const id of ['a', 'b', 'c']) await broker.publish(update(id));
    const upTo = await broker.head();
    const first = await broker.replay({ kind: 'earliest' }, { upTo, limit: 1 });
    expect(first.updates.map((u) => u.id)).toEqual(['a']);
    for (const id of ['d', 'e', 'f']) await broker.publish(update(id));
    const next = await broker.replay(
      { kind: 'position', position: first.next! },
      { upTo, limit: 1 },
    );
    expect(next.outcome).toBe('unknown-id');
  });

  it('forgets updates older than max_age', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const broker = await createBroker('memory://?max_age=1m');
    await broker.start(silentFeed);
    await broker.publish(update('old'));
    vi.setSystemTime(new Date('2030-01-01T00:00:45Z'));
    await broker.publish(update('new'));
    vi.setSystemTime(new Date('2030-01-01T00:01:30Z'));
    expect(await ids(broker)).toEqual(['new']);
  });

  it('keeps no history with max_events=0, and still orders updates', async () => {
    const broker = await createBroker('memory://?max_events=0');
    await broker.start(silentFeed);
    await broker.publish(update('a'));
    const head = await broker.head();
    expect(head.sequence).toBe(1);
    const replay = await broker.replay({ kind: 'id', id: 'a' }, { upTo: head, limit: 10 });
    expect(replay.outcome).toBe('unknown-id');
    expect(replay.updates).toEqual([]);
  });

  it('starts a new epoch in every new broker: a restart lost the history', async () => {
    const [one, two] = [new MemoryBroker(), new MemoryBroker()];
    expect(one.epoch).not.toBe(two.epoch);
  });
});

const silentFeed: BrokerFeed = { update() {}, gap() {}, health() {} };

describe('generated ids', () => {
  it('are urn:uuid version 7, unique and increasing as strings', () => {
    const ids = Array.from({ length: 20_000 }, () => createUpdateId());
    for (const id of ids.slice(0, 50)) {
      expect(id).toMatch(
        /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
    expect(new Set(ids).size).toBe(ids.length);
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
  });
});
