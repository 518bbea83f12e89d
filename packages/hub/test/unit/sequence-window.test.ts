import {
  markerField,
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

describe('SequenceWindow', () => {
  it('counts nothing wrong for every number once, in order', () => {
    expect(countsOf([1, 2, 3, 4, 5], 5)).toEqual({
      received: 5,
      dropped: 0,
      duplicated: 0,
      outOfOrder: 0,
    });
  });

  it('counts a gap, a missing head and a missing tail as dropped', () => {
    expect(countsOf([2, 3, 5, 6], 8)).toEqual({
      received: 4,
      dropped: 4,
      duplicated: 0,
      outOfOrder: 0,
    });
  });

  it('counts a repeat as duplicated, however late', () => {
    expect(countsOf([1, 2, 2, 3, 1, 3], 3)).toEqual({
      received: 3,
      dropped: 0,
      duplicated: 3,
      outOfOrder: 0,
    });
  });

  it('counts a late number as out of order and no longer as dropped', () => {
    expect(countsOf([1, 3, 4, 2, 5], 5)).toEqual({
      received: 5,
      dropped: 0,
      duplicated: 0,
      outOfOrder: 1,
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
    });
  });

  it('ignores numbers before the first due and non-integers', () => {
    const window = new SequenceWindow(10);
    for (const n of [3, 9, 10.5, 10, 11]) window.record(n);
    expect(window.counts(11)).toEqual({ received: 2, dropped: 0, duplicated: 0, outOfOrder: 0 });
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
});
