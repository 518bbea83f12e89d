import {
  BrokerConfigError,
  BrokerUnavailableError,
  createBroker,
  createUpdateId,
  MemoryBroker,
  type StoredUpdate,
} from '@tidings/hub';
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

describe('MemoryBroker', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('orders updates, encodes them once and hands them to the listener before publish resolves', async () => {
    const broker = new MemoryBroker();
    const seen: StoredUpdate[] = [];
    await broker.start((stored) => seen.push(stored));
    const first = await broker.publish({ ...update('a', 'one\ntwo'), type: 'ev', retry: 10 });
    expect(seen).toEqual([first]);
    const second = await broker.publish(update('b'));
    expect(second.sequence).toBeGreaterThan(first.sequence);
    expect(new TextDecoder().decode(first.chunk)).toBe(
      'id: a\nevent: ev\nretry: 10\ndata: one\ndata: two\n\n',
    );
    expect(await broker.lastEventId()).toBe('b');
  });

  it('replays after a known id and says which id precedes the replay', async () => {
    const broker = new MemoryBroker();
    await broker.start(() => {});
    for (const id of ['a', 'b', 'c']) await broker.publish(update(id));
    const replay = await broker.replay('a');
    expect(replay.updates.map((u) => u.id)).toEqual(['b', 'c']);
    expect(replay.precedingId).toBe('a');
    expect(replay.through).toBe(replay.updates.at(-1)!.sequence);
    expect((await broker.replay('c')).updates).toEqual([]);
    const earliest = await broker.replay('earliest');
    expect(earliest.updates.map((u) => u.id)).toEqual(['a', 'b', 'c']);
    expect(earliest.precedingId).toBe('earliest');
  });

  it('keeps history within max_events and max_bytes; an evicted id replays everything kept', async () => {
    const byCount = await createBroker('memory://?max_events=2');
    await byCount.start(() => {});
    for (const id of ['a', 'b', 'c']) await byCount.publish(update(id));
    const evicted = await byCount.replay('a');
    expect(evicted.updates.map((u) => u.id)).toEqual(['b', 'c']);
    expect(evicted.precedingId).toBe('earliest');

    // Each of these encodes to 114 bytes: two fit in 250, three do not.
    const byBytes = await createBroker('memory://?max_bytes=250');
    await byBytes.start(() => {});
    for (const id of ['a', 'b', 'c']) await byBytes.publish(update(id, 'x'.repeat(100)));
    expect((await byBytes.replay('earliest')).updates.map((u) => u.id)).toEqual(['b', 'c']);
  });

  it('forgets updates older than max_age', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const broker = await createBroker('memory://?max_age=1m');
    await broker.start(() => {});
    await broker.publish(update('old'));
    vi.setSystemTime(new Date('2030-01-01T00:00:45Z'));
    await broker.publish(update('new'));
    vi.setSystemTime(new Date('2030-01-01T00:01:30Z'));
    expect((await broker.replay('earliest')).updates.map((u) => u.id)).toEqual(['new']);
  });

  it('keeps no history with max_events=0, and still orders updates', async () => {
    const broker = await createBroker('memory://?max_events=0');
    await broker.start(() => {});
    await broker.publish(update('a'));
    const replay = await broker.replay('earliest');
    expect(replay.updates).toEqual([]);
    expect(replay.through).toBe(1);
  });

  it('refuses updates once closed', async () => {
    const broker = new MemoryBroker();
    await broker.close();
    await expect(broker.publish(update('a'))).rejects.toThrow(BrokerUnavailableError);
  });
});

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
