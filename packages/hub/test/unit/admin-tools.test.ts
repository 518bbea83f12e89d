import { describe, expect, it } from 'vitest';
import { LatencyWindow } from '../../src/admin/latency-window.js';
import { RateLimiter } from '../../src/admin/rate-limiter.js';
import { explainSelector } from '../../src/admin/selector-explanation.js';
import { reportToken } from '../../src/admin/token-report.js';
import { Authenticator, mintToken } from '../../src/auth/index.js';

const SECRET = 'admin-tools-unit-secret-of-at-least-32-bytes';
const HUB = 'https://hub.example.com/.well-known/mercure';

async function authenticator(): Promise<Authenticator> {
  return Authenticator.create({
    publisherKey: { kind: 'secret', secret: SECRET },
    subscriberKey: { kind: 'secret', secret: SECRET },
    anonymous: true,
    allowedOrigins: [],
  });
}

describe('reportToken', () => {
  it('decodes a valid token and says what each role may do', async () => {
    const token = await mintToken({
      secret: SECRET,
      publish: ['https://example.com/books/{id}'],
      expiresIn: 600,
    });
    const report = await reportToken(`Bearer ${token}`, await authenticator(), HUB);
    expect(report.decoded).toBe(true);
    expect(report.alg).toBe('HS256');
    expect(report.expired).toBe(false);
    expect(report.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(report.payload?.mercure).toEqual({ publish: ['https://example.com/books/{id}'] });
    expect(report.publisher).toEqual({
      accepted: true,
      reason: 'valid: may publish to topics matching "https://example.com/books/{id}"',
    });
    expect(report.subscriber?.accepted).toBe(true);
    expect(report.subscriber?.reason).toContain('public updates only');
  });

  it('says a publisher without mercure.publish is refused at publish time', async () => {
    const token = await mintToken({ secret: SECRET, subscribe: ['*'] });
    const report = await reportToken(token, await authenticator(), HUB);
    expect(report.publisher?.reason).toMatch(
      /no mercure\.publish: every publish would be refused with 403/,
    );
    expect(report.subscriber?.reason).toBe(
      'valid: receives public updates, and private ones on every topic (*)',
    );
  });

  it('names the signature, the expiry and the algorithm of a refused token', async () => {
    const auth = await authenticator();
    const foreign = await mintToken({ secret: `${SECRET}-but-another`, publish: ['*'] });
    const wrongKey = await reportToken(foreign, auth, HUB);
    expect(wrongKey.decoded).toBe(true);
    expect(wrongKey.publisher?.accepted).toBe(false);
    expect(wrongKey.publisher?.reason).toMatch(/signature/);

    const old = await mintToken({ secret: SECRET, publish: ['*'], expiresIn: -60 });
    const expired = await reportToken(old, auth, HUB);
    expect(expired.expired).toBe(true);
    expect(expired.subscriber?.accepted).toBe(false);
    expect(expired.subscriber?.reason).toMatch(/expired/);

    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"mercure":{}}').toString('base64url')}.`;
    const none = await reportToken(unsigned, auth, HUB);
    expect(none.alg).toBe('none');
    expect(none.publisher?.reason).toMatch(/unsigned/);
  });

  it('says a malformed claim is refused, and text that is no JWT is not decoded', async () => {
    const auth = await authenticator();
    const badClaim = await mintToken({ secret: SECRET, publish: ['https://example.com/{'] });
    const report = await reportToken(badClaim, auth, HUB);
    expect(report.publisher?.accepted).toBe(false);
    expect(report.publisher?.reason).toMatch(/mercure\.publish\[0\].*not a valid URI template/);

    const garbage = await reportToken('hello world', auth, HUB);
    expect(garbage.decoded).toBe(false);
    expect(garbage.reason).toMatch(/^not a JWT/);
    expect(garbage.publisher).toBeUndefined();
  });
});

describe('explainSelector', () => {
  it('names the rule that matched', () => {
    expect(explainSelector('*', 'anything', 'selector', HUB)).toMatchObject({
      matches: true,
      rule: 'wildcard',
    });
    expect(explainSelector('https://a/1', 'https://a/1', 'selector', HUB)).toMatchObject({
      matches: true,
      rule: 'exact',
    });
    expect(explainSelector('https://a/{id}', 'https://a/7', 'selector', HUB)).toMatchObject({
      matches: true,
      rule: 'uri-template',
    });
    // Draft-07 rule 2: a template matches its own text.
    expect(explainSelector('https://a/{id}', 'https://a/{id}', 'selector', HUB)).toMatchObject({
      matches: true,
      rule: 'exact',
    });
  });

  it('says where an exact selector and a template part from the topic', () => {
    const exact = explainSelector('https://a/books/1', 'https://a/books/2', 'selector', HUB);
    expect(exact.matches).toBe(false);
    expect(exact.reason).toContain(
      'differ at character 17 ("1" in the selector, "2" in the topic)',
    );

    const prefix = explainSelector('https://a/books/{id}', 'https://a/authors/1', 'selector', HUB);
    expect(prefix).toMatchObject({ matches: false, rule: 'uri-template' });
    expect(prefix.reason).toContain('fixed start "https://a/books/" is not how the topic starts');

    const slash = explainSelector(
      'https://a/books/{id}',
      'https://a/books/1/reviews',
      'selector',
      HUB,
    );
    expect(slash.matches).toBe(false);
    expect(slash.reason).toContain('{+name} can');
    // What the explanation suggests does match.
    expect(
      explainSelector('https://a/books/{+id}', 'https://a/books/1/reviews', 'selector', HUB)
        .matches,
    ).toBe(true);
  });

  it('reports an invalid template instead of matching nothing', () => {
    expect(explainSelector('https://a/{', 'https://a/', 'selector', HUB)).toMatchObject({
      matches: false,
      rule: 'invalid',
    });
  });

  it('reads draft-08 matchers: exact text holding { and URL patterns against the hub URL', () => {
    const literal = explainSelector('https://a/{id}', 'https://a/7', 'exact', HUB);
    expect(literal).toMatchObject({ matches: false, rule: 'exact' });
    expect(literal.reason).toContain('an exact matcher must equal the topic');
    expect(explainSelector('https://a/{id}', 'https://a/{id}', 'exact', HUB).matches).toBe(true);
    const relative = explainSelector(
      '/books/:id',
      'https://hub.example.com/books/7',
      'urlpattern',
      HUB,
    );
    expect(relative).toMatchObject({ matches: true, rule: 'urlpattern' });
    const elsewhere = explainSelector(
      '/books/:id',
      'https://other.example/books/7',
      'urlpattern',
      HUB,
    );
    expect(elsewhere.matches).toBe(false);
    expect(elsewhere.reason).toContain(HUB);
  });
});

describe('LatencyWindow', () => {
  it('summarises the last ten seconds and forgets older ones', () => {
    let now = 1_000_000;
    const window = new LatencyWindow({ now: () => now });
    expect(window.summary()).toEqual({ count: 0, p50Ms: null, p99Ms: null });
    for (let i = 0; i < 98; i++) window.record(0.0003); // 0.3 ms: the ≤ 0.5 ms bucket
    window.record(0.02); // ≤ 25 ms
    window.record(0.2); // ≤ 250 ms
    expect(window.summary()).toEqual({ count: 100, p50Ms: 0.5, p99Ms: 25 });
    now += 5_000;
    window.record(3); // past every finite bound
    expect(window.summary()).toMatchObject({ count: 101, p99Ms: 250 });
    now += 6_000; // the first second has left the window
    expect(window.summary()).toEqual({ count: 1, p50Ms: 2500, p99Ms: 2500 });
    now += 10_000;
    expect(window.summary().count).toBe(0);
  });
});

describe('RateLimiter', () => {
  it('lets `limit` requests a window through per address, then says how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 2, windowMs: 60_000, now: () => now });
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(60);
    expect(limiter.take('b')).toBe(0);
    now = 59_500;
    expect(limiter.take('a')).toBe(1);
    now = 60_000;
    expect(limiter.take('a')).toBe(0);
  });

  it('keeps at most maxAddresses windows', () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 60_000, maxAddresses: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c'); // forgets a
    expect(limiter.take('a')).toBe(0);
  });
});
