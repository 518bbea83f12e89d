import { readFileSync } from 'node:fs';
import { compileUrlPattern, MAX_URL_PATTERN_LENGTH, UrlPatternSyntaxError } from '@tidings/hub';
import { describe, expect, it } from 'vitest';

interface Fixture {
  provenance: string;
  base: string;
  cases: [pattern: string, topic: string, expected: boolean][];
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/url-pattern-cases.json', import.meta.url), 'utf8'),
) as Fixture;

/** Node 22+ has the standard's URLPattern; Node 20 does not. */
const NativeUrlPattern = (
  globalThis as {
    URLPattern?: new (
      pattern: string,
      base: string,
    ) => { test(input: string, base: string): boolean };
  }
).URLPattern;

describe('URL Pattern matching (draft-08 match_urlpattern)', () => {
  it('agrees with the URL Pattern Standard on every recorded case', () => {
    expect(fixture.cases.length).toBeGreaterThan(1000);
    const disagreements: string[] = [];
    for (const [pattern, topic, expected] of fixture.cases) {
      const got = compileUrlPattern(pattern, fixture.base).matches(topic);
      if (got !== expected)
        disagreements.push(`${pattern} ~ ${topic}: ${got}, expected ${expected}`);
      // Where the runtime has the standard's implementation, the recording is checked too.
      if (NativeUrlPattern) {
        expect(new NativeUrlPattern(pattern, fixture.base).test(topic, fixture.base)).toBe(
          expected,
        );
      }
    }
    expect(disagreements).toEqual([]);
  });

  it.each([
    ['https://example.com/books/:id', 'https://example.com/books/1', true],
    ['https://example.com/books/:id', 'https://example.com/books/1/chapters', false],
    ['https://example.com/books/:id', 'https://EXAMPLE.com:443/books/1?x#y', true],
    ['https://example.com/books/:id', 'https://example.com/BOOKS/1', false],
    ['https://example.com/books/:id?', 'https://example.com/books', true],
    ['https://example.com/books/*', 'https://example.com/books/1/chapters/2', true],
    ['https://*.example.com/*', 'https://a.b.example.com/x', true],
    ['/books/:id', 'https://hub.example/books/1', true],
    ['/books/:id', '/books/1', true],
    ['/books/:id', 'https://other.example/books/1', false],
    ['https://example.com/caf\u00e9/:id', 'https://example.com/caf%C3%A9/1', true],
    ['https://example.com/books/:id', 'not a url', false],
  ])('%s matches %s: %s', (pattern, topic, expected) => {
    expect(
      compileUrlPattern(pattern, 'https://hub.example/.well-known/mercure').matches(topic),
    ).toBe(expected);
  });

  it.each([
    [
      'https://example.com/books/(\\d+)',
      /regular-expression groups "\(\.\.\.\)" are not supported/,
    ],
    ['https://user:pass@example.com/*', /user info/],
    ['https://example.com/{books', /a "\{" has no matching "\}"/],
    ['https://example.com/books}', /a "\}" has no matching "\{"/],
    ['https://example.com/:id/:id', /the name ":id" is used twice/],
    ['books/:id', /neither absolute .* nor relative to the hub/],
    ['https://example.com/a\\', /lone "\\"/],
    ['https://example.com:99999/', /invalid port/],
    [`https://example.com/${'a'.repeat(MAX_URL_PATTERN_LENGTH)}`, /longer than 2048/],
  ])('refuses %s with a reason', (pattern, reason) => {
    const compile = () => compileUrlPattern(pattern, 'https://hub.example/');
    expect(compile).toThrow(UrlPatternSyntaxError);
    expect(compile).toThrow(reason);
  });

  it('answers pathological patterns against long near misses without backtracking', () => {
    // As a backtracking regular expression these take exponential or high polynomial time:
    // nested and stacked wildcards against a topic that almost matches.
    const base = 'https://hub.example/';
    const nearMiss = `https://example.com/${'a'.repeat(20_000)}!`;
    for (const pattern of [
      'https://example.com/*a*a*a*a*a*a*a*a*a*a*a*a*b',
      'https://example.com/{:a}+{:b}+{:c}+{:d}+b',
      'https://example.com/{a*}*{a*}*{a*}*b',
      'https://example.com/*/*/*/*/*/*/*/*/b',
    ]) {
      const matcher = compileUrlPattern(pattern, base);
      expect(matcher.matches(nearMiss)).toBe(false);
      expect(matcher.matches(`https://example.com/${'a'.repeat(20_000)}b`)).toBe(
        !pattern.includes('/*/'),
      );
    }
  });
});
