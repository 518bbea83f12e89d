/**
 * The broker conformance suite: what every broker must do for the hub to keep its promises
 * (order, bounded replay, a join of replay and live with no gap and no duplicate however far
 * the feed lags, epochs, typed unavailability, close). Exported as
 * `@tidings/hub/broker-conformance` so that every broker — the memory broker here, the Redis
 * broker in `@tidings/redis`, anyone's own — runs the same tests:
 *
 * ```ts
 * import { describeBrokerConformance } from '@tidings/hub/broker-conformance';
 * describeBrokerConformance('my broker', { create: () => MyBroker.connect(url) });
 * ```
 *
 * It runs under Vitest (an optional peer dependency of this package).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredUpdate, Update } from '../update.js';
import {
  type Broker,
  type BrokerFeed,
  type BrokerHealth,
  BrokerUnavailableError,
  type FeedGap,
  type LogPosition,
  type ReplayFrom,
} from './broker.js';
import type { PresenceRecord } from './presence.js';

export interface BrokerConformanceTarget {
  /** A new broker over an empty log of its own, not started. */
  create(): Promise<Broker>;
  /**
   * Another node on the same log as `broker` (for shared brokers): the suite checks that an
   * update published on one reaches the other's feed in order.
   */
  createPeer?(broker: Broker): Promise<Broker>;
  /** Makes the log lose everything it kept (e.g. FLUSHALL), as a failover can. */
  loseData?(broker: Broker): Promise<void>;
  /**
   * Makes the backend unreachable; resolves with a function that brings it back. The suite
   * checks that publishing fails with BrokerUnavailableError in bounded time, and that the
   * feed resumes afterwards without losing or repeating an acknowledged update.
   */
  makeUnavailable?(broker: Broker): Promise<() => Promise<void>>;
  /** How long a test may wait for the feed, ms. Default 5000. */
  timeoutMs?: number;
}

const update = (id: string, topic = 'https://example.com/t'): Update => ({
  topics: [topic],
  data: `data of ${id}`,
  private: false,
  id,
});

export function describeBrokerConformance(name: string, target: BrokerConformanceTarget): void {
  const timeoutMs = target.timeoutMs ?? 5000;
  const open: Broker[] = [];
  const create = async (): Promise<Broker> => {
    const broker = await target.create();
    open.push(broker);
    return broker;
  };
  const started = async (): Promise<{ broker: Broker; feed: RecordingFeed }> => {
    const broker = await create();
    const feed = new RecordingFeed();
    await broker.start(feed);
    return { broker, feed };
  };

  describe(`broker conformance: ${name}`, () => {
    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((broker) => broker.close()));
    });

    it('orders updates, acknowledges each once kept, and feeds each once, in order', async () => {
      const { broker, feed } = await started();
      const acknowledged = await Promise.all(
        Array.from({ length: 50 }, (_, i) => broker.publish(update(`u${i}`))),
      );
      await feed.waitFor(50, timeoutMs);
      const sequences = feed.updates.map((stored) => stored.sequence);
      for (let i = 1; i < sequences.length; i++) {
        expect(sequences[i]).toBeGreaterThan(sequences[i - 1]!);
      }
      expect(new Set(feed.updates.map((stored) => stored.epoch)).size).toBe(1);
      const bySequence = [...acknowledged].sort((a, b) => a.sequence - b.sequence);
      expect(feed.updates.map((stored) => stored.id)).toEqual(bySequence.map((s) => s.id));
      const first = acknowledged[0]!;
      expect(new TextDecoder().decode(first.chunk)).toBe('id: u0\ndata: data of u0\n\n');
      expect(first.acceptedAt).toBeGreaterThan(0);
    });

    it('encodes the event fields once, data line by line', async () => {
      const { broker } = await started();
      const stored = await broker.publish({
        topics: ['a', 'b'],
        data: 'one\ntwo',
        private: true,
        id: 'x',
        type: 'ev',
        retry: 10,
      });
      expect(stored.topics).toEqual(['a', 'b']);
      expect(stored.private).toBe(true);
      expect(new TextDecoder().decode(stored.chunk)).toBe(
        'id: x\nevent: ev\nretry: 10\ndata: one\ndata: two\n\n',
      );
    });

    it('reports its head: sequence 0 and no id when empty, then the newest update', async () => {
      const { broker } = await started();
      const empty = await broker.head();
      expect(empty.sequence).toBe(0);
      expect(empty.lastEventId).toBeUndefined();
      await broker.publish(update('a'));
      const b = await broker.publish(update('b'));
      const head = await broker.head();
      expect(head).toMatchObject({ epoch: b.epoch, sequence: b.sequence, lastEventId: 'b' });
      expect((await broker.health()).ready).toBe(true);
    });

    it('replays after an id, from the earliest, or everything for an unknown id, never past upTo', async () => {
      const { broker } = await started();
      for (let i = 0; i < 10; i++) await broker.publish(update(`u${i}`));
      const upTo = position(await broker.head());
      for (let i = 10; i < 15; i++) await broker.publish(update(`u${i}`));

      const resumed = await readAll(broker, { kind: 'id', id: 'u3' }, upTo, 1000);
      expect(resumed.outcome).toBe('resumed');
      expect(resumed.precedingId).toBe('u3');
      expect(resumed.ids).toEqual(['u4', 'u5', 'u6', 'u7', 'u8', 'u9']);

      const earliest = await readAll(broker, { kind: 'earliest' }, upTo, 1000);
      expect(earliest.outcome).toBe('earliest');
      expect(earliest.precedingId).toBeUndefined();
      expect(earliest.ids).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));

      const unknown = await readAll(broker, { kind: 'id', id: 'never-published' }, upTo, 1000);
      expect(unknown.outcome).toBe('unknown-id');
      expect(unknown.precedingId).toBeUndefined();
      expect(unknown.ids).toEqual(earliest.ids);

      const upToDate = await readAll(broker, { kind: 'id', id: 'u9' }, upTo, 1000);
      expect(upToDate).toMatchObject({ outcome: 'resumed', precedingId: 'u9', ids: [] });
    });

    it('pages a replay: any page size gives the same updates, each once', async () => {
      const { broker } = await started();
      for (let i = 0; i < 23; i++) await broker.publish(update(`u${i}`));
      const upTo = position(await broker.head());
      const whole = await readAll(broker, { kind: 'id', id: 'u2' }, upTo, 1000);
      for (const limit of [1, 2, 5, 20]) {
        const paged = await readAll(broker, { kind: 'id', id: 'u2' }, upTo, limit);
        expect(paged.ids).toEqual(whole.ids);
        expect(paged.pages).toBeGreaterThanOrEqual(Math.ceil(whole.ids.length / limit));
      }
    });

    it('joins replay and live with no gap and no duplicate while the feed lags', async () => {
      const broker = await create();
      const feed = new LaggingFeed();
      await broker.start(feed);
      for (let i = 0; i < 20; i++) await broker.publish(update(`old${i}`));

      // Subscribers join at different moments while a publisher keeps going; the feed hands
      // updates over late and in bursts, as a networked feed does.
      const total = 120;
      const publishing = (async () => {
        for (let i = 0; i < total; i++) {
          await broker.publish(update(`new${i}`));
          if (i % 7 === 0) await pause(1);
        }
      })();
      const joins = [];
      for (let j = 0; j < 6; j++) {
        await pause(3 + j * 2);
        joins.push(join(broker, feed, j % 2 === 0 ? 'old5' : 'earliest'));
      }
      await publishing;
      const lastId = `new${total - 1}`;
      const streams = await Promise.all(joins);
      for (const stream of streams) {
        await waitUntil(
          () => stream.ids.at(-1) === lastId,
          timeoutMs,
          () => stream.ids,
        );
        const start = stream.from === 'old5' ? 6 : 0;
        const expected = [
          ...Array.from({ length: 20 - start }, (_, i) => `old${start + i}`),
          ...Array.from({ length: total }, (_, i) => `new${i}`),
        ];
        expect(stream.ids).toEqual(expected);
      }
      feed.stop();
    });

    it('says epoch-changed for a position of another log, and never mixes epochs', async () => {
      const { broker } = await started();
      await broker.publish(update('a'));
      const foreign: LogPosition = { epoch: 'another-life-of-the-log', sequence: 1 };
      const page = await broker.replay({ kind: 'earliest' }, { upTo: foreign, limit: 10 });
      expect(page.outcome).toBe('epoch-changed');
      expect(page.updates).toEqual([]);
      const head = position(await broker.head());
      const cursor = await broker.replay(
        { kind: 'position', position: foreign },
        { upTo: head, limit: 10 },
      );
      expect(cursor.outcome).toBe('epoch-changed');
    });

    if (target.loseData) {
      const loseData = target.loseData;
      it('changes epoch when the log loses data, and resuming subscribers are told', async () => {
        const { broker, feed } = await started();
        await broker.publish(update('a'));
        const before = await broker.publish(update('b'));
        const oldHead = position(await broker.head());
        await loseData(broker);
        const after = await broker.publish(update('c'));
        expect(after.epoch).not.toBe(before.epoch);
        const head = position(await broker.head());
        const resumed = await readAll(broker, { kind: 'id', id: 'a' }, head, 100);
        expect(resumed.outcome).toBe('unknown-id');
        expect(resumed.precedingId).toBeUndefined();
        const stale = await broker.replay({ kind: 'earliest' }, { upTo: oldHead, limit: 10 });
        expect(stale.outcome).toBe('epoch-changed');
        // The feed goes on in the new epoch: told of the gap, or visibly in a new epoch.
        await feed.waitFor(3, timeoutMs);
        expect(feed.updates.at(-1)!.epoch).toBe(after.epoch);
      });
    }

    if (target.createPeer) {
      const createPeer = target.createPeer;
      it('feeds every node sharing the log, in the same order', async () => {
        const { broker, feed } = await started();
        const peer = await createPeer(broker);
        open.push(peer);
        const peerFeed = new RecordingFeed();
        await peer.start(peerFeed);
        for (let i = 0; i < 20; i++) {
          await (i % 2 === 0 ? broker : peer).publish(update(`u${i}`));
        }
        await feed.waitFor(20, timeoutMs);
        await peerFeed.waitFor(20, timeoutMs);
        const ids = Array.from({ length: 20 }, (_, i) => `u${i}`);
        expect(feed.updates.map((stored) => stored.id)).toEqual(ids);
        expect(peerFeed.updates.map((stored) => stored.id)).toEqual(ids);
        const upTo = position(await peer.head());
        expect((await readAll(peer, { kind: 'id', id: 'u9' }, upTo, 5)).ids).toEqual(ids.slice(10));
      });
    }

    it('keeps presence: lists the subscribers added, forgets the ones removed', async () => {
      const { broker } = await started();
      // Presence is optional: a broker without it gets the hub's one-node presence.
      if (!broker.presence) return;
      await broker.presence.start({ departed: () => {} });
      broker.presence.add(record('urn:uuid:a', 'https://example.com/a'));
      broker.presence.add(record('urn:uuid:b', 'https://example.com/{id}'));
      expect(subscribersOf(await broker.presence.list())).toEqual(['urn:uuid:a', 'urn:uuid:b']);
      broker.presence.remove('urn:uuid:a');
      broker.presence.remove('urn:uuid:unknown');
      const listed = await broker.presence.list();
      expect(listed).toEqual([record('urn:uuid:b', 'https://example.com/{id}')]);
    });

    if (target.createPeer) {
      const createPeer = target.createPeer;
      it('shares presence: a peer lists the subscribers of a node until that node closes', async () => {
        const { broker } = await started();
        if (!broker.presence) return;
        const peer = await createPeer(broker);
        open.push(peer);
        await peer.start(new RecordingFeed());
        await broker.presence.start({ departed: () => {} });
        await peer.presence!.start({ departed: () => {} });
        broker.presence.add(record('urn:uuid:on-node', 'https://example.com/a'));
        peer.presence!.add(record('urn:uuid:on-peer', 'https://example.com/b'));
        let seen: string[] = [];
        const lists = (node: Broker, expected: string[]) => async () => {
          seen = subscribersOf(await node.presence!.list());
          return seen.join() === expected.join();
        };
        const both = ['urn:uuid:on-node', 'urn:uuid:on-peer'];
        await waitUntil(lists(broker, both), timeoutMs, () => seen);
        await waitUntil(lists(peer, both), timeoutMs, () => seen);
        await broker.close();
        await waitUntil(lists(peer, ['urn:uuid:on-peer']), timeoutMs, () => seen);
      });
    }

    if (target.makeUnavailable) {
      const makeUnavailable = target.makeUnavailable;
      it('fails fast with BrokerUnavailableError while unreachable, then resumes its feed', async () => {
        const { broker, feed } = await started();
        await broker.publish(update('before'));
        const restore = await makeUnavailable(broker);
        const began = Date.now();
        await expect(broker.publish(update('refused'))).rejects.toBeInstanceOf(
          BrokerUnavailableError,
        );
        expect(Date.now() - began).toBeLessThan(timeoutMs);
        await waitUntil(
          async () => !(await broker.health()).ready,
          timeoutMs,
          () => 'health',
        );
        await restore();
        await waitUntil(
          async () => (await broker.health()).ready,
          timeoutMs,
          () => 'health',
        );
        await broker.publish(update('after'));
        await waitUntil(
          () => feed.updates.some((stored) => stored.id === 'after'),
          timeoutMs,
          () => feed.updates.map((stored) => stored.id),
        );
        expect(feed.updates.map((stored) => stored.id)).toEqual(['before', 'after']);
      });
    }

    it('refuses everything once closed, with BrokerUnavailableError, and feeds nothing more', async () => {
      const { broker, feed } = await started();
      await broker.publish(update('a'));
      await feed.waitFor(1, timeoutMs);
      await broker.close();
      await broker.close();
      await expect(broker.publish(update('b'))).rejects.toBeInstanceOf(BrokerUnavailableError);
      await expect(broker.head()).rejects.toBeInstanceOf(BrokerUnavailableError);
      const upTo = { epoch: 'x', sequence: 0 };
      await expect(broker.replay({ kind: 'earliest' }, { upTo, limit: 1 })).rejects.toBeInstanceOf(
        BrokerUnavailableError,
      );
      expect((await broker.health()).ready).toBe(false);
      await pause(50);
      expect(feed.updates.map((stored) => stored.id)).toEqual(['a']);
    });
  });
}

// ---- helpers -------------------------------------------------------------------------

/** A feed that records what it gets. */
class RecordingFeed implements BrokerFeed {
  readonly updates: StoredUpdate[] = [];
  readonly gaps: FeedGap[] = [];
  readonly healths: BrokerHealth[] = [];
  readonly update = (stored: StoredUpdate): void => {
    this.updates.push(stored);
  };
  readonly gap = (gap: FeedGap): void => {
    this.gaps.push(gap);
  };
  readonly health = (health: BrokerHealth): void => {
    this.healths.push(health);
  };

  waitFor(count: number, timeoutMs: number): Promise<void> {
    return waitUntil(
      () => this.updates.length >= count,
      timeoutMs,
      () => `${this.updates.length} of ${count} updates`,
    );
  }
}

function record(subscriber: string, topic: string): PresenceRecord {
  return {
    subscriber,
    draft08: false,
    matchers: [{ matchType: 'exact', match: topic }],
    payload: { user: subscriber },
  };
}

function subscribersOf(records: readonly PresenceRecord[]): string[] {
  return records.map((listed) => listed.subscriber).sort();
}

/**
 * A feed that hands each update to its listeners late (0–15 ms, in order, in bursts), as a
 * feed read over the network does: the broker has acknowledged updates the feed has not
 * delivered yet.
 */
class LaggingFeed implements BrokerFeed {
  readonly listeners = new Set<(stored: StoredUpdate) => void>();
  #queue: StoredUpdate[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly update = (stored: StoredUpdate): void => {
    this.#queue.push(stored);
    this.#timer ??= setTimeout(this.#flush, Math.floor(Math.random() * 15));
  };
  readonly gap = (): void => {};
  readonly health = (): void => {};
  readonly #flush = (): void => {
    this.#timer = undefined;
    if (this.#stopped) return;
    const batch = this.#queue;
    this.#queue = [];
    for (const stored of batch) for (const listener of this.listeners) listener(stored);
  };
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

/**
 * The hub's join, reduced to its bones: hold live updates from now, take the join point,
 * replay up to it, then send the held updates after it, then live — skipping what the lagging
 * feed still brings up to the join point.
 */
async function join(
  broker: Broker,
  feed: LaggingFeed,
  from: 'earliest' | string,
): Promise<{ from: string; ids: string[] }> {
  const stream = { from, ids: [] as string[] };
  let held: StoredUpdate[] | undefined = [];
  let upTo: LogPosition | undefined;
  feed.listeners.add((stored) => {
    if (held) held.push(stored);
    // Live, but the feed may still bring updates up to the join point: the replay had them.
    else if (stored.epoch !== upTo!.epoch || stored.sequence > upTo!.sequence) {
      stream.ids.push(stored.id);
    }
  });
  upTo = position(await broker.head());
  const replay = await readAll(
    broker,
    from === 'earliest' ? { kind: 'earliest' } : { kind: 'id', id: from },
    upTo,
    7,
  );
  stream.ids.push(...replay.ids);
  for (const stored of held) {
    if (stored.epoch === upTo.epoch && stored.sequence <= upTo.sequence) continue;
    stream.ids.push(stored.id);
  }
  held = undefined;
  return stream;
}

async function readAll(
  broker: Broker,
  from: ReplayFrom,
  upTo: LogPosition,
  limit: number,
): Promise<{ outcome: string; precedingId: string | undefined; ids: string[]; pages: number }> {
  let page = await broker.replay(from, { upTo, limit });
  const first = page;
  const ids = page.updates.map((stored) => stored.id);
  let pages = 1;
  while (page.next !== undefined) {
    page = await broker.replay({ kind: 'position', position: page.next }, { upTo, limit });
    expect(page.outcome).toBe('resumed');
    expect(page.updates.length).toBeLessThanOrEqual(limit);
    for (const stored of page.updates) {
      expect(stored.sequence).toBeLessThanOrEqual(upTo.sequence);
      ids.push(stored.id);
    }
    pages++;
  }
  return { outcome: first.outcome, precedingId: first.precedingId, ids, pages };
}

function position(head: LogPosition): LogPosition {
  return { epoch: head.epoch, sequence: head.sequence };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describeState: () => unknown,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms; state: ${JSON.stringify(describeState())}`);
    }
    await pause(5);
  }
}
