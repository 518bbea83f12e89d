import { Channel, HISTORY_GAP_EVENT, streamStats } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchSubscriber } from './support/fetch-subscriber.js';
import { eventually } from './support/sse-client.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

afterEach(async () => {
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

describe('Channel.publish', () => {
  it('gives ids that sort in publish order and delivers the same event to everyone', async () => {
    let serialized = 0;
    const channel = new Channel({
      serialize: (data) => {
        serialized++;
        return JSON.stringify(data);
      },
    });
    const subscribers = Array.from({ length: 50 }, () => fetchSubscriber());
    for (const s of subscribers) channel.subscribe(s.stream);
    expect(channel.size).toBe(50);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(channel.publish({ event: 'tick', data: { i } }).id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(5);
    // Encoded once per publish, not once per subscriber.
    expect(serialized).toBe(5);
    for (const s of subscribers) {
      const events = await s.collector.waitForEvents(5);
      expect(events.map((e) => [e.type, e.data, e.lastEventId])).toEqual(
        ids.map((id, i) => ['tick', `{"i":${i}}`, id]),
      );
    }
    for (const s of subscribers) s.stream.close();
    expect(channel.size).toBe(0);
  });

  it('sends everything published in one turn to a subscriber as one write', async () => {
    const channel = new Channel();
    const subscriber = fetchSubscriber();
    channel.subscribe(subscriber.stream);
    for (let i = 0; i < 10; i++) channel.publish({ data: String(i) });
    await subscriber.collector.waitForEvents(10);
    expect(subscriber.collector.chunks).toHaveLength(1);
    channel.publish({ data: 'later' });
    await subscriber.collector.waitForEvents(11);
    expect(subscriber.collector.chunks).toHaveLength(2);
    subscriber.stream.close();
  });

  it('uses a given id and refuses an empty, repeated or multi-line one, changing nothing', async () => {
    const channel = new Channel();
    const subscriber = fetchSubscriber();
    channel.subscribe(subscriber.stream);
    expect(channel.publish({ id: 'a', data: '1' })).toEqual({ id: 'a' });
    expect(() => channel.publish({ id: 'a', data: '2' })).toThrow(
      /id "a" is already in the history/,
    );
    expect(() => channel.publish({ id: '', data: '3' })).toThrow(/"id" must not be empty/);
    expect(() => channel.publish({ id: 'b\nevent: x', data: '4' })).toThrow(
      /"id" must not contain CR, LF/,
    );
    expect(() => channel.publish({ event: 'e\r', data: '5' })).toThrow(
      /"event" must not contain CR, LF/,
    );
    expect(() => channel.publish({ data: Symbol('x') })).toThrow(/could not be serialized/);
    channel.publish({ id: 'c', data: '6' });
    const events = await subscriber.collector.waitForEvents(2);
    expect(events.map((e) => e.data)).toEqual(['1', '6']);
    // Nothing of the refused events entered the history either.
    const late = fetchSubscriber();
    channel.subscribe(late.stream, { lastEventId: 'a' });
    expect((await late.collector.waitForEvents(1)).map((e) => e.lastEventId)).toEqual(['c']);
    await turn();
    expect(late.collector.events).toHaveLength(1);
    subscriber.stream.close();
    late.stream.close();
  });

  it('delivers to targets only, and never replays a targeted event to anyone else', async () => {
    const channel = new Channel();
    const [a, b, c] = [fetchSubscriber(), fetchSubscriber(), fetchSubscriber()];
    for (const s of [a, b, c]) channel.subscribe(s.stream);
    const first = channel.publish({ data: 'for everyone' });
    channel.publish({ data: 'for a and c' }, { targets: [a.stream, c.stream] });
    channel.publish({ data: 'for everyone again' });
    await a.collector.waitForEvents(3);
    await c.collector.waitForEvents(3);
    await b.collector.waitForEvents(2);
    await turn();
    expect(b.collector.events.map((e) => e.data)).toEqual(['for everyone', 'for everyone again']);
    const reconnected = fetchSubscriber({ 'last-event-id': first.id });
    channel.subscribe(reconnected.stream);
    await reconnected.collector.waitForEvents(1);
    await turn();
    expect(reconnected.collector.events.map((e) => e.data)).toEqual(['for everyone again']);
    for (const s of [a, b, c, reconnected]) s.stream.close();
  });

  it('applies a publish filter to live delivery and to replay alike', async () => {
    const channel = new Channel();
    const admins = new Set<unknown>();
    const admin = fetchSubscriber();
    const user = fetchSubscriber();
    admins.add(admin.stream);
    channel.subscribe(admin.stream);
    channel.subscribe(user.stream);
    const start = channel.publish({ data: 'start' });
    channel.publish({ data: 'audit' }, { filter: (stream) => admins.has(stream) });
    channel.publish({ data: 'end' });
    expect((await admin.collector.waitForEvents(3)).map((e) => e.data)).toEqual([
      'start',
      'audit',
      'end',
    ]);
    expect((await user.collector.waitForEvents(2)).map((e) => e.data)).toEqual(['start', 'end']);
    const adminAgain = fetchSubscriber({ 'last-event-id': start.id });
    admins.add(adminAgain.stream);
    const userAgain = fetchSubscriber({ 'last-event-id': start.id });
    channel.subscribe(adminAgain.stream);
    channel.subscribe(userAgain.stream);
    expect((await adminAgain.collector.waitForEvents(2)).map((e) => e.data)).toEqual([
      'audit',
      'end',
    ]);
    expect((await userAgain.collector.waitForEvents(1)).map((e) => e.data)).toEqual(['end']);
    await turn();
    expect(userAgain.collector.events).toHaveLength(1);
    for (const s of [admin, user, adminAgain, userAgain]) s.stream.close();
  });

  it('refuses to publish or subscribe once closed', () => {
    const channel = new Channel();
    channel.close();
    expect(() => channel.publish({ data: 'x' })).toThrow('Channel.publish: the channel is closed');
    const s = fetchSubscriber();
    expect(() => channel.subscribe(s.stream)).toThrow('Channel.subscribe: the channel is closed');
    s.stream.close();
  });
});

describe('Channel.subscribe', () => {
  it('replays what came after the client’s Last-Event-ID, then goes live', async () => {
    const channel = new Channel();
    const ids = [1, 2, 3, 4, 5].map((n) => channel.publish({ data: `e${n}` }).id);
    const subscriber = fetchSubscriber({ 'last-event-id': ids[1] as string });
    channel.subscribe(subscriber.stream);
    channel.publish({ data: 'e6' });
    const events = await subscriber.collector.waitForEvents(4);
    expect(events.map((e) => e.data)).toEqual(['e3', 'e4', 'e5', 'e6']);
    subscriber.stream.close();
  });

  it('replays at the client’s pace even when maxQueueBytes is small', async () => {
    const channel = new Channel();
    const ids = Array.from(
      { length: 200 },
      (_, i) => channel.publish({ data: `${i}`.padEnd(1024, '.') }).id,
    );
    const subscriber = fetchSubscriber(
      { 'last-event-id': ids[0] as string },
      { maxQueueBytes: 16 * 1024 },
    );
    channel.subscribe(subscriber.stream);
    const events = await subscriber.collector.waitForEvents(199);
    expect(events.map((e) => e.lastEventId)).toEqual(ids.slice(1));
    expect(subscriber.stream.closed).toBe(false);
    subscriber.stream.close();
  });

  it('replays nothing without a last event id, or with an explicit empty one', async () => {
    const channel = new Channel();
    const id = channel.publish({ data: 'old' }).id;
    const fresh = fetchSubscriber();
    const explicit = fetchSubscriber({ 'last-event-id': id });
    channel.subscribe(fresh.stream);
    channel.subscribe(explicit.stream, { lastEventId: '' });
    channel.publish({ data: 'new' });
    expect((await fresh.collector.waitForEvents(1)).map((e) => e.data)).toEqual(['new']);
    expect((await explicit.collector.waitForEvents(1)).map((e) => e.data)).toEqual(['new']);
    fresh.stream.close();
    explicit.stream.close();
  });

  it('tells a client whose id is unknown about the gap, then replays everything retained', async () => {
    const channel = new Channel();
    const ids = ['a', 'b'].map((data) => channel.publish({ data }).id);
    const subscriber = fetchSubscriber({ 'last-event-id': 'from-another-life' });
    channel.subscribe(subscriber.stream);
    const events = await subscriber.collector.waitForEvents(3);
    expect(events[0]?.type).toBe(HISTORY_GAP_EVENT);
    expect(JSON.parse(events[0]?.data as string)).toEqual({
      lastEventId: 'from-another-life',
      earliestId: ids[0],
    });
    // The notice carries no id: the client's last event id moves only with real events.
    expect(events[0]?.lastEventId).toBe('');
    expect(events.slice(1).map((e) => [e.data, e.lastEventId])).toEqual([
      ['a', ids[0]],
      ['b', ids[1]],
    ]);
    subscriber.stream.close();
  });

  it('tells a client whose id was evicted about the gap', async () => {
    const channel = new Channel({ history: { maxEvents: 3 } });
    const ids = [1, 2, 3, 4, 5, 6].map((n) => channel.publish({ data: String(n) }).id);
    const subscriber = fetchSubscriber({ 'last-event-id': ids[0] as string });
    channel.subscribe(subscriber.stream);
    const events = await subscriber.collector.waitForEvents(4);
    expect(events[0]?.type).toBe(HISTORY_GAP_EVENT);
    expect(JSON.parse(events[0]?.data as string).earliestId).toBe(ids[3]);
    expect(events.slice(1).map((e) => e.data)).toEqual(['4', '5', '6']);
    subscriber.stream.close();
  });

  it('tells a resuming client about the gap when the channel keeps no history', async () => {
    const channel = new Channel({ history: false, historyGapEvent: 'lost' });
    channel.publish({ data: 'gone' });
    const subscriber = fetchSubscriber({ 'last-event-id': 'x' });
    channel.subscribe(subscriber.stream);
    channel.publish({ data: 'live' });
    const events = await subscriber.collector.waitForEvents(2);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['lost', '{"lastEventId":"x","earliestId":null}'],
      ['message', 'live'],
    ]);
    subscriber.stream.close();
  });

  it('applies the subscriber filter to replay and live events', async () => {
    const channel = new Channel<Record<string, unknown>, { room: string }>();
    const first = channel.publish({ data: 'r1-a' }, { meta: { room: 'r1' } }).id;
    channel.publish({ data: 'r2-a' }, { meta: { room: 'r2' } });
    channel.publish({ data: 'r1-b' }, { meta: { room: 'r1' } });
    const subscriber = fetchSubscriber();
    const seen: string[] = [];
    channel.subscribe(subscriber.stream, {
      lastEventId: first,
      filter: (meta, id) => {
        seen.push(id);
        return meta.room === 'r1';
      },
    });
    channel.publish({ data: 'r2-b' }, { meta: { room: 'r2' } });
    channel.publish({ data: 'r1-c' }, { meta: { room: 'r1' } });
    const events = await subscriber.collector.waitForEvents(2);
    await turn();
    expect(events.map((e) => e.data)).toEqual(['r1-b', 'r1-c']);
    expect(seen).toHaveLength(4);
    subscriber.stream.close();
  });

  it('unsubscribes a stream when it closes, and on request (leaving it open)', async () => {
    const channel = new Channel();
    const leaving = fetchSubscriber();
    const staying = fetchSubscriber();
    channel.subscribe(leaving.stream);
    channel.subscribe(staying.stream);
    expect(() => channel.subscribe(staying.stream)).toThrow(/already subscribed/);
    await leaving.leave();
    await eventually(() => channel.size === 1, 'the closed stream to leave');
    channel.unsubscribe(staying.stream);
    expect(channel.size).toBe(0);
    expect(staying.stream.closed).toBe(false);
    channel.publish({ data: 'unseen' });
    staying.stream.send({ data: 'direct' });
    expect((await staying.collector.waitForEvents(1)).map((e) => e.data)).toEqual(['direct']);
    // A closed stream is not added at all.
    channel.subscribe(leaving.stream);
    expect(channel.size).toBe(0);
    staying.stream.close();
  });

  it('close() unsubscribes everyone; with closeStreams it ends their responses too', async () => {
    const kept = new Channel();
    const ended = new Channel();
    const a = fetchSubscriber();
    const b = fetchSubscriber();
    kept.subscribe(a.stream);
    ended.subscribe(b.stream);
    kept.close();
    ended.close({ closeStreams: true });
    expect(kept.size).toBe(0);
    expect(a.stream.closed).toBe(false);
    expect(b.stream.closed).toBe(true);
    await b.collector.waitForEnd();
    a.stream.close();
  });
});
