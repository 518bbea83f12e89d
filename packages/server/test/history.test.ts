import { DEFAULT_HISTORY_MAX_EVENTS, History, type HistoryEntry } from '@tidings/server';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

const bytes = (n: number) => new Uint8Array(n);
function entry(id: string, size = 10, time = Date.now()): HistoryEntry<undefined> {
  return { id, chunk: bytes(size), meta: undefined, time };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('History', () => {
  it('returns the entries after an id, oldest first; undefined for an unknown id', () => {
    const history = new History();
    for (const id of ['a', 'b', 'c', 'd']) history.append(entry(id));
    expect(history.since('b')?.map((e) => e.id)).toEqual(['c', 'd']);
    expect(history.since('d')).toEqual([]);
    expect(history.since('zzz')).toBeUndefined();
    expect(history.entries().map((e) => e.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(history.size).toBe(4);
    expect(history.bytes).toBe(40);
  });

  it('keeps at most maxEvents, evicting the oldest', () => {
    const history = new History({ maxEvents: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) history.append(entry(id));
    expect(history.entries().map((e) => e.id)).toEqual(['c', 'd', 'e']);
    expect(history.since('a')).toBeUndefined();
    expect(history.since('b')).toBeUndefined();
    expect(history.since('c')?.map((e) => e.id)).toEqual(['d', 'e']);
    expect(new History().entries()).toEqual([]);
    expect(DEFAULT_HISTORY_MAX_EVENTS).toBe(1000);
  });

  it('keeps at most maxBytes; an entry larger than that is not kept at all', () => {
    const history = new History({ maxBytes: 100 });
    history.append(entry('a', 40));
    history.append(entry('b', 40));
    history.append(entry('c', 40));
    expect(history.entries().map((e) => e.id)).toEqual(['b', 'c']);
    expect(history.bytes).toBe(80);
    history.append(entry('huge', 101));
    expect(history.size).toBe(0);
    expect(history.bytes).toBe(0);
    expect(history.since('huge')).toBeUndefined();
  });

  it('drops entries older than maxAgeMs', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const history = new History({ maxAgeMs: 1000 });
    history.append(entry('old', 10, Date.now()));
    vi.setSystemTime(1_000_600);
    history.append(entry('new', 10, Date.now()));
    expect(history.entries().map((e) => e.id)).toEqual(['old', 'new']);
    vi.setSystemTime(1_001_001);
    expect(history.since('old')).toBeUndefined();
    expect(history.entries().map((e) => e.id)).toEqual(['new']);
    vi.setSystemTime(1_002_000);
    expect(history.entries()).toEqual([]);
  });

  it('numbers positions for good, across evictions and clear()', () => {
    const history = new History({ maxEvents: 2 });
    for (const id of ['a', 'b', 'c']) history.append(entry(id));
    expect(history.firstPosition).toBe(1);
    expect(history.endPosition).toBe(3);
    expect(history.positionOf('c')).toBe(2);
    expect(history.at(0)).toBeUndefined();
    expect(history.at(1)?.id).toBe('b');
    expect(history.at(3)).toBeUndefined();
    history.clear();
    expect(history.size).toBe(0);
    expect(history.firstPosition).toBe(3);
    history.append(entry('d'));
    expect(history.positionOf('d')).toBe(3);
  });

  it('finds the newer entry when an id repeats, even after the older one is evicted', () => {
    const history = new History({ maxEvents: 3 });
    history.append(entry('x'));
    history.append(entry('y'));
    history.append(entry('x'));
    expect(history.since('x')).toEqual([]);
    history.append(entry('z'));
    expect(history.since('x')?.map((e) => e.id)).toEqual(['z']);
  });

  it('refuses invalid limits with the option named', () => {
    expect(() => new History({ maxEvents: -1 })).toThrow(/"maxEvents"/);
    expect(() => new History({ maxBytes: Number.NaN })).toThrow(/"maxBytes"/);
    expect(() => new History({ maxAgeMs: -5 })).toThrow(/"maxAgeMs"/);
  });

  it('agrees with a plain model under any sequence of appends (count and byte bounds)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (maxEvents, maxBytes, sizes, probes) => {
          const history = new History({ maxEvents, maxBytes });
          const model: { id: string; size: number }[] = [];
          sizes.forEach((size, i) => {
            const id = `e${i}`;
            history.append(entry(id, size));
            model.push({ id, size });
            let total = model.reduce((sum, e) => sum + e.size, 0);
            while (model.length > maxEvents || total > maxBytes) {
              total -= (model.shift() as { size: number }).size;
            }
          });
          expect(history.entries().map((e) => e.id)).toEqual(model.map((e) => e.id));
          expect(history.bytes).toBe(model.reduce((sum, e) => sum + e.size, 0));
          for (const probe of probes) {
            const id = `e${sizes.length === 0 ? 0 : probe % sizes.length}`;
            const at = model.findIndex((e) => e.id === id);
            const since = history.since(id);
            if (at === -1) expect(since).toBeUndefined();
            else expect(since?.map((e) => e.id)).toEqual(model.slice(at + 1).map((e) => e.id));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
