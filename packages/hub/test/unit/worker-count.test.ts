import { describe, expect, it } from 'vitest';
import {
  FIRST_DELAY_MS,
  MAX_DELAY_MS,
  RestartBackoff,
  STABLE_AFTER_MS,
} from '../../src/cluster/restart-backoff.js';
import { MAX_WORKERS, parseWorkerCount } from '../../src/cluster/worker-count.js';

describe('parseWorkerCount (--workers)', () => {
  it('takes a count of processes', () => {
    expect(parseWorkerCount('1', 2)).toEqual({ count: 1 });
    expect(parseWorkerCount(' 7 ', 2)).toEqual({ count: 7 });
    expect(parseWorkerCount(String(MAX_WORKERS), 2)).toEqual({ count: MAX_WORKERS });
  });

  it('reads auto as one process per core, in any case', () => {
    expect(parseWorkerCount('auto', 6)).toEqual({ count: 6 });
    expect(parseWorkerCount('AUTO', 1)).toEqual({ count: 1 });
    expect(parseWorkerCount('auto', 1000)).toEqual({ count: MAX_WORKERS });
  });

  it('refuses anything else with one line that says what it takes', () => {
    for (const text of ['0', String(MAX_WORKERS + 1)]) {
      const result = parseWorkerCount(text, 4);
      expect(result).toEqual({
        error: `--workers must be between 1 and ${MAX_WORKERS} (or auto: 4 here), got ${Number(text)}`,
      });
    }
    for (const text of ['', 'two', '-1', '1.5', '2x', 'max']) {
      const result = parseWorkerCount(text, 4);
      expect('error' in result && result.error).toBe(
        `--workers must be a number of processes or auto (one per core), got "${text}"`,
      );
      expect('error' in result && result.error.includes('\n')).toBe(false);
    }
  });
});

describe('RestartBackoff', () => {
  it('waits 100 ms after a first crash, doubling on each quick crash up to 30 s', () => {
    const backoff = new RestartBackoff();
    const delays = Array.from({ length: 12 }, () => backoff.delayAfter(50));
    expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(delays.at(-1)).toBe(MAX_DELAY_MS);
    expect(Math.max(...delays)).toBe(MAX_DELAY_MS);
  });

  it('starts over after a worker ran long enough to count as stable', () => {
    const backoff = new RestartBackoff();
    backoff.delayAfter(0);
    backoff.delayAfter(0);
    expect(backoff.delayAfter(STABLE_AFTER_MS - 1)).toBe(FIRST_DELAY_MS * 4);
    expect(backoff.delayAfter(STABLE_AFTER_MS)).toBe(FIRST_DELAY_MS);
  });
});
