import { discoveryLinkHeader } from '@tidings/server';
import { describe, expect, it } from 'vitest';

describe('discoveryLinkHeader', () => {
  it('advertises the hub, and the topic with rel="self"', () => {
    expect(discoveryLinkHeader('https://example.com/.well-known/mercure')).toBe(
      '<https://example.com/.well-known/mercure>; rel="mercure"',
    );
    expect(
      discoveryLinkHeader('https://example.com/.well-known/mercure', {
        self: 'https://example.com/books/1',
      }),
    ).toBe(
      '<https://example.com/.well-known/mercure>; rel="mercure", <https://example.com/books/1>; rel="self"',
    );
    expect(discoveryLinkHeader('/.well-known/mercure')).toBe(
      '</.well-known/mercure>; rel="mercure"',
    );
  });

  it('percent-encodes non-ASCII characters', () => {
    expect(
      discoveryLinkHeader('https://hub.example/', { self: 'https://example.com/livres/été' }),
    ).toBe(
      '<https://hub.example/>; rel="mercure", <https://example.com/livres/%C3%A9t%C3%A9>; rel="self"',
    );
  });

  it('refuses what would break the header, naming the argument', () => {
    expect(() => discoveryLinkHeader('https://a/>; rel="x')).toThrow(
      /"hubUrl" must be a URI reference/,
    );
    expect(() => discoveryLinkHeader('https://a/\r\nSet-Cookie: x')).toThrow(/"hubUrl"/);
    expect(() => discoveryLinkHeader('https://a/', { self: 'has space' })).toThrow(/"self"/);
    expect(() => discoveryLinkHeader('')).toThrow(/"hubUrl"/);
  });
});
