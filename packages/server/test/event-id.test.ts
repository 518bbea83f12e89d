import { createEventId } from '@tidings/server';
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.useRealTimers();
});

function assertStrictlyIncreasing(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!((ids[i] as string) > (ids[i - 1] as string))) {
      throw new Error(`ids out of order at ${i}: ${ids[i - 1]} then ${ids[i]}`);
    }
  }
}

describe('createEventId', () => {
  it('is unique, fixed-width and increasing as a string', () => {
    const ids = Array.from({ length: 100_000 }, () => createEventId());
    assertStrictlyIncreasing(ids);
    expect(new Set(ids.map((id) => id.length)).size).toBe(1);
    expect(ids[0]).toMatch(/^[0-9a-z]{9}-[0-9a-z]{4}$/);
  });

  it('keeps increasing when the clock goes backwards', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const ids: string[] = [];
    for (const t of [
      5_000_000_000_000, 5_000_000_000_100, 4_000_000_000_000, 5_000_000_000_100, 5_000_000_000_200,
    ]) {
      vi.setSystemTime(t);
      ids.push(createEventId(), createEventId());
    }
    assertStrictlyIncreasing(ids);
  });

  it('borrows the next millisecond when one millisecond runs out of counter values', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(6_000_000_000_000);
    const ids = Array.from({ length: 36 ** 4 + 10 }, () => createEventId());
    assertStrictlyIncreasing(ids);
    expect(ids.at(-1)?.endsWith('-0009')).toBe(true);
  });
});
