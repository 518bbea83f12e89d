import {
  type Broker,
  MemoryBroker,
  type Replay,
  type StoredUpdate,
  type Update,
  type UpdateListener,
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

  for (const timing of ['history read late', 'history read early'] as const) {
    it(`joins replay and live without gap or duplicate when the broker is slow (${timing})`, async () => {
      const broker = new SlowReplayBroker(timing === 'history read late' ? 'before' : 'after');
      t = await startHub({ broker });
      for (let i = 0; i < 5; i++)
        await t.hub.publish({ topics: ['slow'], data: `old ${i}`, id: `o-${i}` });

      const raw = RawSubscriber.open(t.port, subscribePath(['slow']), { 'Last-Event-ID': 'o-1' });
      await broker.replayStarted;
      // These arrive while the replay is being fetched: live (held for the subscriber) and,
      // when the history is read late, in the history as well.
      const racing: string[] = [];
      for (let i = 0; i < 5; i++)
        racing.push(await t.hub.publish({ topics: ['slow'], data: `new ${i}`, id: `n-${i}` }));
      await raw.opened();
      await raw.eventCount(8);
      await t.hub.publish({ topics: ['slow'], data: 'last', id: 'z' });
      await raw.eventCount(9);
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
 * A broker whose history answers slowly, as a networked one (Redis) does: the read happens
 * `before` or `after` a pause in which the test publishes more.
 */
class SlowReplayBroker implements Broker {
  readonly name = 'slow';
  readonly #inner = new MemoryBroker();
  readonly #when: 'before' | 'after';
  #started!: () => void;
  readonly replayStarted = new Promise<void>((resolve) => {
    this.#started = resolve;
  });

  constructor(when: 'before' | 'after') {
    this.#when = when;
  }

  start(listener: UpdateListener): Promise<void> {
    return this.#inner.start(listener);
  }

  publish(update: Update): Promise<StoredUpdate> {
    return this.#inner.publish(update);
  }

  async replay(lastEventId: string): Promise<Replay> {
    this.#started();
    if (this.#when === 'after') {
      const replay = await this.#inner.replay(lastEventId);
      await sleep(150);
      return replay;
    }
    await sleep(150);
    return this.#inner.replay(lastEventId);
  }

  lastEventId(): Promise<string> {
    return this.#inner.lastEventId();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
