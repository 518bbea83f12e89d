import {
  type Broker,
  type BrokerFeed,
  type LogHead,
  MemoryBroker,
  type ReplayFrom,
  type ReplayOptions,
  type ReplayPage,
  type StoredUpdate,
  type Update,
} from '@tidings/hub';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, startHub, subscribePath, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';

/**
 * "Nothing lost": a subscriber that reconnects with Last-Event-ID while updates keep coming
 * gets every update exactly once, in order — whether the replay is short, long enough to
 * hit backpressure, or read from a broker that answers slowly.
 */
describe('Last-Event-ID replay while publishes continue', () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('loses and repeats nothing across repeated reconnections', async () => {
    t = await startHub();
    const hub = t;
    const published: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; i < 400; i++) {
        const response = await hub.publish({ topic: 'feed', data: `update ${i}` });
        published.push(await response.text());
        if (i % 25 === 0) await sleep(2);
      }
      publishing = false;
    })();

    const received: string[] = [];
    let reconnections = 0;
    while (publishing || received.length < published.length) {
      const lastId = received.at(-1);
      const headers: Record<string, string> =
        lastId === undefined ? {} : { 'Last-Event-ID': lastId };
      // The very first connection starts from the beginning of history.
      const path = subscribePath(['feed'], lastId === undefined ? { lastEventID: 'earliest' } : {});
      const raw = await RawSubscriber.open(hub.port, path, headers).opened();
      if (lastId !== undefined) expect(raw.headers['last-event-id']).toBe(lastId);
      await sleep(10 + Math.random() * 40);
      await raw.close();
      received.push(...raw.events.map((event) => event.lastEventId));
      reconnections++;
      if (!publishing) {
        // Drain: one last connection until everything has arrived.
        const final = await RawSubscriber.open(hub.port, subscribePath(['feed']), {
          'Last-Event-ID': received.at(-1)!,
        }).opened();
        await final.until(
          () => received.length + final.events.length >= published.length,
          5000,
          'the rest of the updates',
        );
        await final.close();
        received.push(...final.events.map((event) => event.lastEventId));
      }
    }
    await publisher;
    expect(reconnections).toBeGreaterThan(3);
    expect(received).toEqual(published);
  });

  it('replays a history larger than the socket takes at once, with publishes racing it', async () => {
    t = await startHub();
    const data = 'x'.repeat(1500);
    const before: string[] = [];
    for (let i = 0; i < 2000; i++)
      before.push(await t.hub.publish({ topics: ['bulk'], data, id: `b-${i}` }));

    const raw = RawSubscriber.open(t.port, subscribePath(['bulk'], { lastEventID: 'earliest' }));
    // Published while the 3 MB replay is being written under backpressure.
    const during: string[] = [];
    for (let i = 0; i < 200; i++) {
      during.push(await t.hub.publish({ topics: ['bulk'], data: `live ${i}`, id: `l-${i}` }));
      if (i % 20 === 0) await sleep(1);
    }
    await raw.eventCount(2200, 15_000);
    await sleep(50);
    expect(raw.events.map((event) => event.lastEventId)).toEqual([...before, ...during]);
    await raw.close();
  });

  it('skips what a lagging feed still brings after a subscriber went live from its replay', async () => {
    const broker = new LaggingBroker('never', 300);
    t = await startHub({ broker });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push(await t.hub.publish({ topics: ['lag'], data: `u ${i}`, id: `u-${i}` }));
    // The feed has delivered none of these yet; the replay has them all.
    const raw = RawSubscriber.open(t.port, subscribePath(['lag']), { 'Last-Event-ID': 'u-0' });
    await raw.eventCount(5);
    ids.push(await t.hub.publish({ topics: ['lag'], data: 'after', id: 'after' }));
    await raw.eventCount(6);
    await sleep(400);
    expect(raw.events.map((event) => event.lastEventId)).toEqual(ids.slice(1));
    await raw.close();
  });

  for (const timing of ['history read late', 'history read early'] as const) {
    it(`joins replay and live without gap or duplicate when the broker is slow and its feed lags (${timing})`, async () => {
      const broker = new LaggingBroker(timing === 'history read late' ? 'before' : 'after');
      t = await startHub({ broker });
      for (let i = 0; i < 5; i++)
        await t.hub.publish({ topics: ['slow'], data: `old ${i}`, id: `o-${i}` });

      const raw = RawSubscriber.open(t.port, subscribePath(['slow']), { 'Last-Event-ID': 'o-1' });
      await broker.replayStarted;
      // These arrive while the replay is being fetched: acknowledged at once, fed to the
      // hub 40 ms later, and, when the history is read late, in the replay as well.
      const racing: string[] = [];
      for (let i = 0; i < 5; i++)
        racing.push(await t.hub.publish({ topics: ['slow'], data: `new ${i}`, id: `n-${i}` }));
      await raw.opened();
      await raw.eventCount(8);
      await t.hub.publish({ topics: ['slow'], data: 'last', id: 'z' });
      await raw.eventCount(9);
      await sleep(100);
      expect(raw.headers['last-event-id']).toBe('o-1');
      expect(raw.events.map((event) => event.lastEventId)).toEqual([
        'o-2',
        'o-3',
        'o-4',
        ...racing,
        'z',
      ]);
      await raw.close();
    });
  }
});

/**
 * A broker as a networked one (Redis) behaves: its feed hands updates over `lagMs` after they
 * were acknowledged, and its history answers slowly — read `before` or `after` a pause in which
 * the test publishes more (or at once: `never`).
 */
class LaggingBroker implements Broker {
  readonly name = 'lagging';
  readonly #inner = new MemoryBroker();
  readonly #when: 'before' | 'after' | 'never';
  readonly #lagMs: number;
  #started!: () => void;
  readonly replayStarted = new Promise<void>((resolve) => {
    this.#started = resolve;
  });

  constructor(when: 'before' | 'after' | 'never', lagMs = 40) {
    this.#when = when;
    this.#lagMs = lagMs;
  }

  start(feed: BrokerFeed): Promise<void> {
    return this.#inner.start({
      update: (stored) => setTimeout(() => feed.update(stored), this.#lagMs),
      gap: feed.gap,
      health: feed.health,
    });
  }

  publish(update: Update): Promise<StoredUpdate> {
    return this.#inner.publish(update);
  }

  head(): Promise<LogHead> {
    return this.#inner.head();
  }

  async replay(from: ReplayFrom, options: ReplayOptions): Promise<ReplayPage> {
    this.#started();
    if (this.#when === 'never') return this.#inner.replay(from, options);
    if (this.#when === 'after') {
      const page = await this.#inner.replay(from, options);
      await sleep(150);
      return page;
    }
    await sleep(150);
    return this.#inner.replay(from, options);
  }

  health() {
    return this.#inner.health();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
