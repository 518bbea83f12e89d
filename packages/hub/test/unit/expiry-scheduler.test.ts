import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExpiryScheduler } from '../../src/expiry-scheduler.js';

describe('ExpiryScheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs callbacks in time order with one timer, and never runs a cancelled one', () => {
    vi.useFakeTimers();
    const scheduler = new ExpiryScheduler();
    const ran: string[] = [];
    const now = Date.now();
    scheduler.schedule(now + 300, () => ran.push('c'));
    const cancel = scheduler.schedule(now + 200, () => ran.push('cancelled'));
    scheduler.schedule(now + 100, () => ran.push('a'));
    scheduler.schedule(now + 250, () => ran.push('b'));
    expect(vi.getTimerCount()).toBe(1);
    cancel();
    cancel();
    expect(scheduler.size).toBe(3);
    vi.advanceTimersByTime(150);
    expect(ran).toEqual(['a']);
    vi.advanceTimersByTime(200);
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(scheduler.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms past the longest setTimeout delay instead of firing early', () => {
    vi.useFakeTimers();
    const scheduler = new ExpiryScheduler();
    let ran = false;
    scheduler.schedule(Date.now() + 2 ** 31 + 1000, () => {
      ran = true;
    });
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(ran).toBe(false);
    vi.advanceTimersByTime(2000);
    expect(ran).toBe(true);
  });

  it('compacts when most entries are cancelled, and close() forgets everything', () => {
    vi.useFakeTimers();
    const scheduler = new ExpiryScheduler();
    const cancels = Array.from({ length: 200 }, (_, i) =>
      scheduler.schedule(Date.now() + 1000 + i, () => {}),
    );
    for (const cancel of cancels.slice(0, 150)) cancel();
    expect(scheduler.size).toBe(50);
    scheduler.close();
    expect(scheduler.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
