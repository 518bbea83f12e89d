import {
  markerField,
  readAnsweredThrough,
  readSequenceNumber,
  SEQUENCE_WINDOW,
  SequenceWindow,
} from '@tidings/hub/load';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function countsOf(received: number[], last: number) {
  const window = new SequenceWindow();
  for (const n of received) window.record(n);
  return window.counts(last);
}

/** Deliveries as `[number, answered-through mark]`. */
function countsWithMarks(received: [number, number][], last: number) {
  const window = new SequenceWindow();
  for (const [n, answered] of received) window.record(n, answered);
  return window.counts(last);
}

describe('SequenceWindow', () => {
  it('counts nothing wrong for every number once, in order', () => {
    expect(countsOf([1, 2, 3, 4, 5], 5)).toEqual({
      received: 5,
      dropped: 0,
      duplicated: 0,
      outOfOrder: 0,
      overtaken: 0,
    });
  });

  it('counts a gap, a missing head and a missing tail as dropped', () => {
    expect(countsOf([2, 3, 5, 6], 8)).toEqual({
      received: 4,
      dropped: 4,
      duplicated: 0,
      outOfOrder: 0,
      overtaken: 0,
    });
  });

  it('counts a repeat as duplicated, however late', () => {
    expect(countsOf([1, 2, 2, 3, 1, 3], 3)).toEqual({
      received: 3,
      dropped: 0,
      duplicated: 3,
      outOfOrder: 0,
      overtaken: 0,
    });
  });

  it('counts a late number as out of order and no longer as dropped', () => {
    expect(countsOf([1, 3, 4, 2, 5], 5)).toEqual({
      received: 5,
      dropped: 0,
      duplicated: 0,
      outOfOrder: 1,
      overtaken: 0,
    });
  });

  it('counts a number older than the window as out of order', () => {
    const last = SEQUENCE_WINDOW + 10;
    const received = [];
    for (let n = 2; n <= last; n++) received.push(n);
    received.push(1);
    expect(countsOf(received, last)).toEqual({
      received: last,
      dropped: 0,
      duplicated: 0,
      outOfOrder: 1,
      overtaken: 0,
    });
  });

  it('ignores numbers before the first due and non-integers', () => {
    const window = new SequenceWindow(10);
    for (const n of [3, 9, 10.5, 10, 11]) window.record(n);
    expect(window.counts(11)).toEqual({
      received: 2,
      dropped: 0,
      duplicated: 0,
      outOfOrder: 0,
      overtaken: 0,
    });
  });

  it('agrees with a set-based count for any delivery within the window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 400 }),
        fc.integer({ min: 0, max: 300 }),
        (received, lastPublished) => {
          const last = Math.max(lastPublished, ...received, 0);
          const seen = new Set<number>();
          let highest = 0;
          let duplicated = 0;
          let outOfOrder = 0;
          for (const n of received) {
            if (seen.has(n)) duplicated++;
            else if (n < highest) outOfOrder++;
            seen.add(n);
            highest = Math.max(highest, n);
          }
          expect(countsOf(received, last)).toEqual({
            received: seen.size,
            dropped: last - seen.size,
            duplicated,
            outOfOrder,
            overtaken: 0,
          });
        },
      ),
    );
  });
});

describe('SequenceWindow across many windows', () => {
  it('agrees with a set-based count when numbers jump by up to three windows', () => {
    // Large jumps reuse each bit for a number a window later: a stale bit would show as a
    // false duplicate, a lost one as a false late arrival.
    // Mostly a few numbers that share their bits with each other a window or two apart.
    const numbers = fc.oneof(
      {
        arbitrary: fc
          .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 }))
          .map(([n, windows]) => n + windows * SEQUENCE_WINDOW),
        weight: 4,
      },
      { arbitrary: fc.integer({ min: 1, max: 3 * SEQUENCE_WINDOW }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(numbers, { maxLength: 60 }), (received) => {
        const seen = new Set<number>();
        let highest = 0;
        let distinct = 0;
        let duplicated = 0;
        let late = 0;
        for (const n of received) {
          if (n > highest) {
            distinct++;
            highest = n;
          } else if (n <= highest - SEQUENCE_WINDOW) {
            // Beyond the window: late, whether or not it came before.
            late++;
            distinct++;
          } else if (seen.has(n)) duplicated++;
          else {
            late++;
            distinct++;
          }
          seen.add(n);
        }
        expect(countsOf(received, highest)).toMatchObject({
          received: distinct,
          duplicated,
          outOfOrder: late,
          overtaken: 0,
        });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('SequenceWindow and the answered-through mark', () => {
  it('does not blame the hub for two publishes in flight at once that arrive swapped', () => {
    // 2 and 3 were both sent while only 1 had been answered: the hub may order them either way.
    expect(
      countsWithMarks(
        [
          [1, 0],
          [3, 1],
          [2, 1],
          [4, 3],
        ],
        4,
      ),
    ).toEqual({ received: 4, dropped: 0, duplicated: 0, outOfOrder: 0, overtaken: 1 });
  });

  it('blames the hub when it delivers an update after one sent once its publish was answered', () => {
    // 3 was sent after 2's publish was answered: the hub had 2 in order before 3 arrived.
    expect(
      countsWithMarks(
        [
          [1, 0],
          [3, 2],
          [2, 1],
        ],
        3,
      ),
    ).toEqual({ received: 3, dropped: 0, duplicated: 0, outOfOrder: 1, overtaken: 0 });
  });

  it('judges a late update by every mark seen before it, not only the highest number', () => {
    // 5 (mark 1) came first, then 4 (mark 3): 2 and 3 were answered before 4 was sent, so
    // their arriving after 4 is the hub's; 6 and 7 never came.
    expect(
      countsWithMarks(
        [
          [1, 0],
          [5, 1],
          [4, 3],
          [3, 1],
          [2, 1],
        ],
        7,
      ),
    ).toEqual({ received: 5, dropped: 2, duplicated: 0, outOfOrder: 2, overtaken: 1 });
  });

  it("applies the same rule to an update older than the window, and ignores a delivery's own mark", () => {
    const last = SEQUENCE_WINDOW + 10;
    const received: [number, number][] = [];
    // Everything after 1 was sent while 1 was unanswered; 1 arrives last, carrying a high mark.
    for (let n = 2; n <= last; n++) received.push([n, 0]);
    received.push([1, last]);
    expect(countsWithMarks(received, last)).toEqual({
      received: last,
      dropped: 0,
      duplicated: 0,
      outOfOrder: 0,
      overtaken: 1,
    });
  });

  it('agrees with a set-based count for any delivery order and any marks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 300 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 0, max: 200 }),
        (received, lags, lastPublished) => {
          // Each update's mark trails its number by a lag of its own (the publishes still
          // unanswered when it was sent), the same on every delivery of it.
          const mark = (n: number) => Math.max(0, n - 1 - lags[n % lags.length]!);
          const last = Math.max(lastPublished, ...received, 0);
          const seen = new Set<number>();
          let highest = 0;
          let answered = 0;
          let duplicated = 0;
          let outOfOrder = 0;
          let overtaken = 0;
          for (const n of received) {
            if (seen.has(n)) duplicated++;
            else if (n < highest && n <= answered) outOfOrder++;
            else if (n < highest) overtaken++;
            seen.add(n);
            highest = Math.max(highest, n);
            answered = Math.max(answered, mark(n));
          }
          expect(
            countsWithMarks(
              received.map((n) => [n, mark(n)]),
              last,
            ),
          ).toEqual({
            received: seen.size,
            dropped: last - seen.size,
            duplicated,
            outOfOrder,
            overtaken,
          });
        },
      ),
    );
  });
});

describe('readSequenceNumber', () => {
  const field = markerField('run-1');

  it("reads n from this run's updates only", () => {
    expect(readSequenceNumber('{"marker":"run-1","n":42,"t":123}', field)).toBe(42);
    expect(readSequenceNumber('{"marker":"run-2","n":42,"t":123}', field)).toBe(-1);
    expect(readSequenceNumber('{"marker":"run-1","t":123}', field)).toBe(-1);
    expect(readSequenceNumber('{"marker":"run-1","n":"x"}', field)).toBe(-1);
    expect(readSequenceNumber('hello', field)).toBe(-1);
  });

  it('reads the answered-through mark, -1 when there is none', () => {
    expect(readAnsweredThrough('{"marker":"run-1","n":42,"a":40,"t":123}')).toBe(40);
    expect(readAnsweredThrough('{"marker":"run-1","n":42,"a":0,"t":123}')).toBe(0);
    expect(readAnsweredThrough('{"marker":"run-1","n":42,"t":123}')).toBe(-1);
  });
});
