import {
  INTERRUPTED,
  MemoryResumableStore,
  type ResumableEvent,
  ResumableStreams,
  STOP_REQUESTED,
  StoreFullError,
  StreamExistsError,
  type StreamSource,
} from '@tidings/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Yields `tokens` as `token` events, `delayMs` apart; notes when it saw the abort. */
function tokens(list: string[], delayMs = 0, seen: { aborted?: boolean } = {}): StreamSource {
  return async function* (signal) {
    for (const data of list) {
      if (delayMs > 0) await sleep(delayMs);
      if (signal.aborted) {
        seen.aborted = true;
        return;
      }
      yield { type: 'token', data };
    }
  };
}

/** A source that never yields until aborted. */
const stalled: (seen: { aborted?: boolean }) => StreamSource = (seen) =>
  async function* (signal) {
    yield { type: 'token', data: 'first' };
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    seen.aborted = true;
  };

async function collect(events: AsyncIterable<ResumableEvent> | undefined, max = Infinity) {
  const out: ResumableEvent[] = [];
  if (!events) return out;
  for await (const event of events) {
    out.push(event);
    if (out.length >= max) break;
  }
  return out;
}

const fast = { leaseMs: 150, pollMs: 50, graceMs: 5_000 };

describe('ResumableStreams', () => {
  it('stores every event under its own id and ends with done; a reader resumes after any id', async () => {
    const streams = new ResumableStreams(fast);
    const started = await streams.startStream('s1', tokens(['a', 'b', 'c']));
    const all = await collect(await streams.readStream('s1'));
    expect(all).toEqual([
      { id: 's1.0', event: 'token', data: 'a' },
      { id: 's1.1', event: 'token', data: 'b' },
      { id: 's1.2', event: 'token', data: 'c' },
      { id: 's1.3', event: 'done', data: '' },
    ]);
    await expect(started.ended).resolves.toBe('done');
    expect(await collect(await streams.readStream('s1', 's1.1'))).toEqual(all.slice(2));
    // After the terminal event there is nothing to read: the caller answers 204.
    expect(await streams.readStream('s1', 's1.3')).toBeUndefined();
    expect(await streams.readStream('unknown')).toBeUndefined();
    await expect(streams.readStream('s1', 'other.1')).rejects.toThrow(
      /not an event id of stream s1/,
    );
    await expect(streams.readStream('s1', 's1.99')).rejects.toThrow(/past its end/);
    await expect(streams.startStream('s1', tokens([]))).rejects.toBeInstanceOf(StreamExistsError);
  });

  it('gives readers that join at different times the same events, live', async () => {
    const streams = new ResumableStreams(fast);
    await streams.startStream('live', tokens(['x', 'y', 'z', 'w'], 20));
    const early = collect(await streams.readStream('live'));
    await sleep(45);
    const late = collect(await streams.readStream('live'));
    const [a, b] = await Promise.all([early, late]);
    expect(a.map((e) => e.data)).toEqual(['x', 'y', 'z', 'w', '']);
    expect(b).toEqual(a);
  });

  it('keeps producing when a reader leaves, and a reader coming back gets the rest', async () => {
    const streams = new ResumableStreams(fast);
    const seen: { aborted?: boolean } = {};
    const started = await streams.startStream('leave', tokens(['1', '2', '3', '4', '5'], 15, seen));
    const first = await collect(await streams.readStream('leave'), 2);
    await sleep(120);
    const rest = await collect(await streams.readStream('leave', first.at(-1)!.id));
    expect([...first, ...rest].map((e) => e.data)).toEqual(['1', '2', '3', '4', '5', '']);
    await expect(started.ended).resolves.toBe('done');
    expect(seen.aborted).toBeUndefined();
  });

  it('stops the source when nobody reads for graceMs, and says so in `stopped`', async () => {
    const streams = new ResumableStreams({ ...fast, graceMs: 100 });
    const seen: { aborted?: boolean } = {};
    const started = await streams.startStream('abandoned', stalled(seen));
    await collect(await streams.readStream('abandoned'), 1);
    await expect(started.ended).resolves.toBe('stopped');
    expect(seen.aborted).toBe(true);
    const events = await collect(await streams.readStream('abandoned'));
    expect(events.at(-1)).toMatchObject({
      event: 'stopped',
      data: expect.stringMatching(/nobody was reading/),
    });
  });

  it('stop(id) from another instance aborts the source; readers get `stopped` and nothing after', async () => {
    const store = new MemoryResumableStore();
    const producing = new ResumableStreams({ ...fast, store });
    const other = new ResumableStreams({ ...fast, store });
    const seen: { aborted?: boolean } = {};
    const started = await producing.startStream('stop-me', stalled(seen));
    const reading = collect(await other.readStream('stop-me'));
    await sleep(30);
    expect(await other.stop('stop-me')).toBe(true);
    const events = await reading;
    expect(events.map((e) => e.event)).toEqual(['token', 'stopped']);
    expect(events[1]!.data).toBe(STOP_REQUESTED);
    await expect(started.ended).resolves.toBe('stopped');
    expect(seen.aborted).toBe(true);
    // Stopping what already ended, or what never existed, says so.
    expect(await other.stop('stop-me')).toBe(false);
    expect(await other.stop('nothing')).toBe(false);
  });

  it('ends with `failed` and the reason when the source throws', async () => {
    const streams = new ResumableStreams(fast);
    await streams.startStream('throws', async function* () {
      yield 'partial';
      throw new Error('the model API answered 500');
    });
    const events = await collect(await streams.readStream('throws'));
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['message', 'partial'],
      ['failed', 'the model API answered 500'],
    ]);
  });

  it('refuses a source that yields a terminal or unsafe event type, and cuts off an endless one', async () => {
    const streams = new ResumableStreams({ ...fast, maxEvents: 4 });
    await streams.startStream('forged', async function* () {
      yield { type: 'done', data: '' };
    });
    await streams.startStream('injected', async function* () {
      yield { type: 'token\ndata: x', data: '' };
    });
    await streams.startStream('endless', async function* () {
      for (let i = 0; ; i++) yield String(i);
    });
    const forged = await collect(await streams.readStream('forged'));
    expect(forged).toEqual([
      {
        id: 'forged.0',
        event: 'failed',
        data: expect.stringMatching(/may not yield the event type "done"/),
      },
    ]);
    const injected = await collect(await streams.readStream('injected'));
    expect(injected[0]).toMatchObject({
      event: 'failed',
      data: expect.stringMatching(/invalid event type/),
    });
    const endless = await collect(await streams.readStream('endless'));
    expect(endless.map((e) => e.event)).toEqual(['message', 'message', 'message', 'failed']);
    expect(endless[3]!.data).toMatch(/cut off at 3 events/);
  });

  it('ends an orphaned stream with `failed` within leaseMs + pollMs when its producer stops renewing', async () => {
    const store = new MemoryResumableStore();
    // A producer that appended and then died: it never renews its lease.
    await store.create('orphan', 'dead-producer', 150);
    await store.append('orphan', 'dead-producer', 0, [{ type: 'token', data: 'kept' }], 60_000);
    const streams = new ResumableStreams({ store, leaseMs: 150, pollMs: 50 });
    const began = Date.now();
    const events = await collect(await streams.readStream('orphan'));
    const took = Date.now() - began;
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['token', 'kept'],
      ['failed', INTERRUPTED],
    ]);
    // The bound, with slack for a loaded machine; the point is that it ends at all.
    expect(took).toBeLessThan(150 + 50 + 1_000);
    // The dead producer, were it to come back, cannot append any more.
    expect(
      await store.append('orphan', 'dead-producer', 1, [{ type: 'token', data: 'late' }], 1),
    ).toBe('lost');
  });

  it('forgets an ended stream when its retention ends', async () => {
    const streams = new ResumableStreams({ ...fast, retentionMs: 60 });
    const started = await streams.startStream('short', tokens(['a']));
    await started.ended;
    expect(await streams.readStream('short')).toBeDefined();
    await sleep(120);
    expect(await streams.readStream('short')).toBeUndefined();
    await expect(streams.startStream('short', tokens(['b']))).resolves.toMatchObject({
      id: 'short',
    });
  });

  it('refuses bad options and ids with a reason', async () => {
    expect(() => new ResumableStreams({ leaseMs: 0 })).toThrow(/leaseMs must be a positive number/);
    expect(() => new ResumableStreams({ graceMs: -1 })).toThrow(/graceMs must be 0 or more/);
    await expect(new ResumableStreams().startStream('a\nb', tokens([]))).rejects.toThrow(
      /without CR, LF or NUL/,
    );
  });
});

describe('MemoryResumableStore', () => {
  it('makes appends idempotent per producer and position', async () => {
    const store = new MemoryResumableStore();
    expect(await store.create('s', 'p', 1_000)).toBe(true);
    expect(await store.create('s', 'q', 1_000)).toBe(false);
    expect(await store.append('s', 'p', 0, [{ type: 't', data: 'a' }], 1_000)).toBe('appended');
    // A retry of the same append: nothing changes.
    expect(await store.append('s', 'p', 0, [{ type: 't', data: 'a' }], 1_000)).toBe('duplicate');
    // Another producer may not write into it.
    expect(await store.append('s', 'q', 1, [{ type: 't', data: 'x' }], 1_000)).toBe('lost');
    await expect(store.append('s', 'p', 5, [{ type: 't', data: 'gap' }], 1_000)).rejects.toThrow(
      RangeError,
    );
    expect(await store.append('s', 'p', 1, [{ type: 'done', data: '' }], 1_000)).toBe('appended');
    expect(await store.append('s', 'p', 2, [{ type: 't', data: 'after end' }], 1_000)).toBe('lost');
    expect(await store.read('s', -1, 10)).toEqual({
      entries: [
        { seq: 0, type: 't', data: 'a' },
        { seq: 1, type: 'done', data: '' },
      ],
      length: 2,
      ended: true,
    });
  });

  it('appends a batch whole; a retried batch that overlaps what is stored adds only the rest', async () => {
    const store = new MemoryResumableStore();
    await store.create('b', 'p', 1_000);
    const t = (data: string) => ({ type: 't', data });
    expect(await store.append('b', 'p', 0, [t('a'), t('b')], 1_000)).toBe('appended');
    expect(await store.append('b', 'p', 1, [t('b'), t('c')], 1_000)).toBe('appended');
    expect(await store.append('b', 'p', 0, [t('a'), t('b'), t('c')], 1_000)).toBe('duplicate');
    await expect(
      store.append('b', 'p', 3, [{ type: 'done', data: '' }, t('d')], 1_000),
    ).rejects.toThrow(/only the last entry/);
    await expect(store.append('b', 'p', 3, [], 1_000)).rejects.toThrow(/at least one entry/);
    expect((await store.read('b', -1, 10))?.entries.map((e) => e.data)).toEqual(['a', 'b', 'c']);
  });

  it('refuses new streams beyond maxStreams with StoreFullError', async () => {
    const store = new MemoryResumableStore({ maxStreams: 1 });
    await store.create('a', 'p', 1_000);
    await expect(store.create('b', 'p', 1_000)).rejects.toBeInstanceOf(StoreFullError);
  });
});

describe('resuming, as a property', () => {
  it('any pattern of disconnects and resumes, on any instance, yields the whole stream exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 30 }),
        // Each visit: which instance it reads from, how many events before it drops.
        fc.array(fc.record({ instance: fc.nat(2), take: fc.integer({ min: 1, max: 6 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 0, max: 3 }),
        async (texts, visits, delayMs) => {
          const store = new MemoryResumableStore();
          const instances = [0, 1, 2].map(() => new ResumableStreams({ ...fast, store }));
          const id = `p-${Math.random()}`;
          await instances[0]!.startStream(id, tokens(texts, delayMs));
          const seen: ResumableEvent[] = [];
          let lastEventId = '';
          for (let visit = 0; ; visit++) {
            const { instance, take } = visits[visit % visits.length]!;
            const reader = await instances[instance]!.readStream(id, lastEventId);
            if (!reader) break;
            const got = await collect(reader, take);
            seen.push(...got);
            if (got.length > 0) lastEventId = got.at(-1)!.id;
          }
          expect(seen.filter((e) => e.event === 'token').map((e) => e.data)).toEqual(texts);
          expect(seen.map((e) => e.event).filter((t) => t === 'done')).toEqual(['done']);
          expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});
