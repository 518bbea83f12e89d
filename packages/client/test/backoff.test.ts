import { backoffDelay } from '@tidings/client';
import { describe, expect, it } from 'vitest';

const noJitter = { jitter: 0 };

describe('backoffDelay', () => {
  it('starts at the initial delay and doubles with each failure in a row', () => {
    const delays = [0, 1, 2, 3, 4].map((failures) =>
      backoffDelay({ failures, serverRetry: undefined }, noJitter),
    );
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it('stops growing at maxDelay, and stays finite after any number of failures', () => {
    expect(backoffDelay({ failures: 5, serverRetry: undefined }, noJitter)).toBe(30_000);
    expect(backoffDelay({ failures: 10_000, serverRetry: undefined }, noJitter)).toBe(30_000);
    expect(
      backoffDelay({ failures: 3, serverRetry: undefined }, { ...noJitter, maxDelay: 5000 }),
    ).toBe(5000);
  });

  it("grows from the server's retry: instead of the initial delay", () => {
    expect(backoffDelay({ failures: 0, serverRetry: 250 }, noJitter)).toBe(250);
    expect(backoffDelay({ failures: 2, serverRetry: 250 }, noJitter)).toBe(1000);
    expect(backoffDelay({ failures: 0, serverRetry: 0 }, noJitter)).toBe(0);
  });

  it('lets a retry: above the cap win: the server knows its load', () => {
    expect(backoffDelay({ failures: 0, serverRetry: 60_000 }, noJitter)).toBe(60_000);
    expect(backoffDelay({ failures: 4, serverRetry: 60_000 }, noJitter)).toBe(60_000);
  });

  it('adds jitter, never takes any away (the reconnection time is a minimum)', () => {
    const state = { failures: 1, serverRetry: undefined };
    expect(backoffDelay(state, { jitter: 0.5 }, () => 0)).toBe(2000);
    expect(backoffDelay(state, { jitter: 0.5 }, () => 0.5)).toBe(2500);
    expect(backoffDelay(state, { jitter: 0.5 }, () => 0.999_999)).toBe(3000);
    expect(backoffDelay(state, { jitter: 1 }, () => 0.75)).toBe(3500);
    // The default jitter is 0.5.
    expect(backoffDelay(state, {}, () => 0.5)).toBe(2500);
  });

  it('refuses nonsense options with a RangeError naming the option', () => {
    const state = { failures: 0, serverRetry: undefined };
    expect(() => backoffDelay(state, { initialDelay: -1 })).toThrow(/backoff.initialDelay/);
    expect(() => backoffDelay(state, { factor: Number.NaN })).toThrow(RangeError);
    expect(() => backoffDelay(state, { maxDelay: Number.POSITIVE_INFINITY })).toThrow(
      /backoff.maxDelay/,
    );
  });
});
