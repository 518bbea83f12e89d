import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';
import { refusalReason } from './refusal.js';

/** `/.well-known/mercure?name=value&...` with the values form-encoded as URLSearchParams does. */
function path08(params: [string, string][]): string {
  return `/.well-known/mercure?${new URLSearchParams(params).toString()}`;
}

/**
 * Draft-08 subscriptions, case by case from draft-dunglas-mercure-08 ("Subscription",
 * "Matcher Types", "Reconnection"), on the same hub and endpoint as draft-07.
 */
describe('Mercure draft-08 subscriptions', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(() => t.close());

  async function subscribe(
    params: [string, string][],
    headers: Record<string, string> = {},
  ): Promise<RawSubscriber> {
    const raw = await RawSubscriber.open(t.port, path08(params), headers).opened();
    expect(raw.status, raw.body).toBe(200);
    return raw;
  }

  it('delivers exact matches: match= and its explicit spelling match_exact=', async () => {
    const a = await subscribe([['match', 'https://example.com/books/1']]);
    const b = await subscribe([['match_exact', 'https://example.com/books/1']]);
    await t.publish({ topic: 'https://example.com/books/2', data: 'other' });
    await t.publish({ topic: 'https://example.com/books/1', data: 'one', id: 'e-1' });
    for (const raw of [a, b]) {
      const [event] = await raw.eventCount(1);
      expect(event).toMatchObject({ data: 'one', lastEventId: 'e-1' });
      await raw.close();
    }
  });

  it('matches exactly, byte for byte: braces are text, not a URI template', async () => {
    const raw = await subscribe([['match', 'https://example.com/books/{id}']]);
    await t.publish({ topic: 'https://example.com/books/7', data: 'not for the exact matcher' });
    await t.publish({ topic: 'https://example.com/books/{id}', data: 'literal' });
    const [event] = await raw.eventCount(1);
    expect(event?.data).toBe('literal');
    await raw.close();
  });

  it('matches URL patterns, and several matchers of both types on one connection', async () => {
    const raw = await subscribe([
      ['match_urlpattern', 'https://example.com/books/:id'],
      ['match', 'bar'],
    ]);
    await t.publish({ topic: 'https://example.com/books/1/chapters/2', data: 'deeper: no' });
    await t.publish({ topic: 'https://example.com/authors/1', data: 'elsewhere: no' });
    await t.publish({ topic: 'https://example.com/books/42', data: 'book' });
    await t.publish({ topic: 'bar', data: 'bar' });
    const events = await raw.eventCount(2);
    expect(events.map((event) => event.data)).toEqual(['book', 'bar']);
    await raw.close();
  });

  it('resolves relative patterns against the hub URL', async () => {
    // Derived from the request: the raw subscriber sends `Host: 127.0.0.1`.
    const raw = await subscribe([['match_urlpattern', '/books/:id']]);
    await t.publish({ topic: 'http://127.0.0.1/books/9', data: 'absolute on the hub origin' });
    await t.publish({ topic: '/books/10', data: 'relative' });
    await t.publish({ topic: 'https://elsewhere.example/books/11', data: 'other origin: no' });
    const events = await raw.eventCount(2);
    expect(events.map((event) => event.data)).toEqual(['absolute on the hub origin', 'relative']);
    await raw.close();
  });

  it('hides private updates from anonymous subscribers', async () => {
    const raw = await subscribe([['match', '*']]);
    await t.publish({ topic: 'secret', data: 'private', private: 'on' });
    await t.publish({ topic: 'open', data: 'public' });
    const events = await raw.eventCount(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events.map((event) => event.data)).toEqual(['public']);
    await raw.close();
  });

  it('resumes after last_event_id and answers Mercure-Last-Event-ID', async () => {
    const first = await (await t.publish({ topic: 'resume-08', data: 'a', id: 'r-a' })).text();
    await t.publish({ topic: 'resume-08', data: 'b', id: 'r-b' });
    await t.publish({ topic: 'resume-08', data: 'c', id: 'r-c' });
    expect(first).toBe('r-a');
    const raw = await subscribe([
      ['match', 'resume-08'],
      ['last_event_id', 'r-a'],
    ]);
    expect(raw.headers['mercure-last-event-id']).toBe('r-a');
    expect(raw.headers['last-event-id']).toBeUndefined();
    const events = await raw.eventCount(2);
    expect(events.map((event) => event.lastEventId)).toEqual(['r-b', 'r-c']);
    await raw.close();

    // "the HTTP header MUST take precedence", and `earliest` replays everything kept.
    const header = await subscribe(
      [
        ['match', 'resume-08'],
        ['last_event_id', 'r-a'],
      ],
      { 'Last-Event-ID': 'r-b' },
    );
    expect(header.headers['mercure-last-event-id']).toBe('r-b');
    expect((await header.eventCount(1)).map((event) => event.lastEventId)).toEqual(['r-c']);
    await header.close();
    const earliest = await subscribe([
      ['match', 'resume-08'],
      ['last_event_id', 'earliest'],
    ]);
    expect(earliest.headers['mercure-last-event-id']).toBe('earliest');
    expect((await earliest.eventCount(3)).map((event) => event.lastEventId)).toEqual([
      'r-a',
      'r-b',
      'r-c',
    ]);
    await earliest.close();
  });

  it.each([
    [[['Match', 'x']], /unknown matcher parameter "Match".*case-sensitive/],
    [[['match_uritemplate', 'x']], /unknown matcher parameter "match_uritemplate"/],
    [[['matches', 'x']], /unknown matcher parameter "matches"/],
    [
      [['match_urlpattern', 'https://example.com/(\\d+)']],
      /not a valid URL pattern: regular-expression groups/,
    ],
    [[['match_urlpattern', 'books/:id']], /not a valid URL pattern/],
    [[['match', 'a\u200bb']], /control or format character \(U\+200B at index 1\)/],
    [[['match', 'a\u0085b']], /control or format character \(U\+0085/],
    [[['match', '']], /empty match parameter/],
    [[['last_event_id', 'x']], /missing matcher/],
    [
      [
        ['match', 'x'],
        ['topic', 'y'],
      ],
      /mixes draft-07 \("topic"\) and draft-08 \("match"\) parameters/,
    ],
    [
      [
        ['topic', 'y'],
        ['last_event_id', 'x'],
      ],
      /mixes draft-07 \("topic"\) and draft-08 \("last_event_id"\)/,
    ],
  ] as [[string, string][], RegExp][])(
    'refuses %j with 400 and a reason',
    async (params, reason) => {
      const response = await fetch(`${t.base}${path08(params)}`);
      expect(response.status).toBe(400);
      expect(await refusalReason(response)).toMatch(reason);
    },
  );

  it('still serves draft-07 subscriptions on the same endpoint', async () => {
    const raw = await RawSubscriber.open(
      t.port,
      '/.well-known/mercure?topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&lastEventID=earliest',
    ).opened();
    expect(raw.status).toBe(200);
    expect(raw.headers['last-event-id']).toBeDefined();
    expect(raw.headers['mercure-last-event-id']).toBeUndefined();
    await t.publish({ topic: 'https://example.com/books/77', data: 'template' });
    await raw.until(
      () => raw.events.some((event) => event.data === 'template'),
      5000,
      'the template match',
    );
    await raw.close();
  });
});

describe('--mercure-drafts', () => {
  it('refuses the draft a hub was told not to speak, saying which it speaks', async () => {
    const only08 = await startHub({ mercureDrafts: ['08'] });
    const only07 = await startHub({ mercureDrafts: ['07'] });
    try {
      const refused07 = await fetch(`${only08.hubUrl}?topic=x`);
      expect(refused07.status).toBe(400);
      expect(await refusalReason(refused07)).toMatch(/speaks Mercure draft-08 only/);
      const refused08 = await fetch(`${only07.hubUrl}?match=x`);
      expect(refused08.status).toBe(400);
      expect(await refusalReason(refused08)).toMatch(/speaks Mercure draft-07 only/);
      const accepted = await RawSubscriber.open(only08.port, path08([['match', 'x']])).opened();
      expect(accepted.status).toBe(200);
      await accepted.close();
    } finally {
      await only08.close();
      await only07.close();
    }
  });
});

describe('QUERY subscriptions (draft-08)', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(() => t.close());

  /** Sends QUERY with a form body; resolves with the status and the events seen until `count`. */
  function query(
    search: string,
    body: string,
    count: number,
    contentType = 'application/x-www-form-urlencoded',
  ): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        `${t.hubUrl}${search}`,
        { method: 'QUERY', headers: { 'Content-Type': contentType, Accept: 'text/event-stream' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if ((text.match(/^data:/gm) ?? []).length >= count) {
              res.destroy();
              resolve({ status: res.statusCode!, headers: res.headers, text });
            }
          });
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  it('takes the union of query and body matchers, and the query last_event_id', async () => {
    await t.publish({ topic: 'q-a', data: 'a0', id: 'q-0' });
    await t.publish({ topic: 'q-b', data: 'b1', id: 'q-1' });
    await t.publish({ topic: 'q-a', data: 'a2', id: 'q-2' });
    const result = await query(
      '?match=q-a&last_event_id=q-0',
      new URLSearchParams([
        ['match', 'q-b'],
        ['last_event_id', 'q-1'],
      ]).toString(),
      2,
    );
    expect(result.status).toBe(200);
    expect(result.headers['mercure-last-event-id']).toBe('q-0');
    expect([...result.text.matchAll(/^data: (.*)$/gm)].map((m) => m[1])).toEqual(['b1', 'a2']);
  });

  it('refuses draft-07 parameters and non-form bodies', async () => {
    const legacy = await query('', 'topic=x', 0);
    expect(legacy.status).toBe(400);
    expect(legacy.text).toMatch(/"topic" is draft-07, which subscribes with GET only/);
    const json = await query('', '{"match":"x"}', 0, 'application/json');
    expect(json.status).toBe(415);
  });
});
