import { describe, expect, it } from 'vitest';
import { VERIFIED_TOKEN_LIMITS, VerifiedTokenCache } from '../../src/auth/verified-token-cache.js';

const T0 = 1_800_000_000_000;

function cacheAt(start: number, clockToleranceSeconds = 0) {
  const clock = { now: start };
  return { clock, cache: new VerifiedTokenCache(clockToleranceSeconds, () => clock.now) };
}

describe('VerifiedTokenCache', () => {
  it('gives back the payload of a verified token, and nothing for another token', () => {
    const { cache } = cacheAt(T0);
    const payload = { sub: 'publisher' };
    cache.set('a.b.c', payload);
    expect(cache.get('a.b.c')).toBe(payload);
    expect(cache.get('a.b.d')).toBeUndefined();
  });

  it('stops counting at the instant jose calls the token expired (exp <= now in whole seconds)', () => {
    const exp = T0 / 1000 + 10;
    const { clock, cache } = cacheAt(T0);
    cache.set('t', { exp });
    clock.now = exp * 1000 - 1;
    expect(cache.get('t')).toEqual({ exp });
    clock.now = exp * 1000;
    expect(cache.get('t')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('honours the clock tolerance as jose does, also for an exp with a fraction', () => {
    const exp = T0 / 1000 + 10.5;
    const { clock, cache } = cacheAt(T0, 30);
    cache.set('t', { exp });
    // jose: expired once floor(now) >= exp + 30, i.e. from ceil(exp + 30) seconds on.
    clock.now = Math.ceil(exp + 30) * 1000 - 1;
    expect(cache.get('t')).toBeDefined();
    clock.now = Math.ceil(exp + 30) * 1000;
    expect(cache.get('t')).toBeUndefined();
  });

  it('does not keep a token that no longer counts', () => {
    const { cache } = cacheAt(T0);
    cache.set('t', { exp: T0 / 1000 });
    expect(cache.get('t')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('trusts a verification for a bounded time, even without exp', () => {
    const { clock, cache } = cacheAt(T0);
    cache.set('no-exp', {});
    cache.set('late-exp', { exp: T0 / 1000 + 86_400 });
    clock.now = T0 + VERIFIED_TOKEN_LIMITS.MAX_AGE_MS - 1;
    expect(cache.get('no-exp')).toBeDefined();
    expect(cache.get('late-exp')).toBeDefined();
    clock.now = T0 + VERIFIED_TOKEN_LIMITS.MAX_AGE_MS;
    expect(cache.get('no-exp')).toBeUndefined();
    expect(cache.get('late-exp')).toBeUndefined();
  });

  it('holds a bounded number of tokens, dropping the one verified longest ago', () => {
    const { cache } = cacheAt(T0);
    for (let i = 0; i < VERIFIED_TOKEN_LIMITS.MAX_ENTRIES; i++) cache.set(`token-${i}`, { i });
    cache.set('token-0', { i: 0 });
    cache.set('one-more', {});
    expect(cache.size).toBe(VERIFIED_TOKEN_LIMITS.MAX_ENTRIES);
    // token-0 was verified again, so token-1 was the oldest.
    expect(cache.get('token-1')).toBeUndefined();
    expect(cache.get('token-0')).toEqual({ i: 0 });
    expect(cache.get('one-more')).toEqual({});
  });

  it('does not keep a token longer than the limit', () => {
    const { cache } = cacheAt(T0);
    const long = 'x'.repeat(VERIFIED_TOKEN_LIMITS.MAX_TOKEN_LENGTH + 1);
    cache.set(long, {});
    expect(cache.get(long)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
