import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startHub, subscribePath, subscribeUrl, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';
import { refusalReason } from './refusal.js';

/**
 * Bad input gets a status and a one-line reason, and changes nothing: no update published,
 * no subscriber registered. Never a 500.
 */
describe('bad input', () => {
  let t: TestHub;
  let publisher: string;
  beforeAll(async () => {
    t = await startHub({ maxBodyBytes: 4096, maxTopicsPerSubscription: 3, maxTopicsPerUpdate: 3 });
    publisher = await t.token({ publish: ['*'] });
  });
  afterAll(() => t.close());

  const post = (body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) =>
    fetch(t.hubUrl, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${publisher}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        ...headers,
      },
      body,
    });

  async function expectRefused(response: Response, status: number, reason: RegExp): Promise<void> {
    const text = await refusalReason(response);
    expect(response.status, text).toBe(status);
    expect(text).toMatch(reason);
    // One line a person can act on.
    expect(text.trim().split('\n')).toHaveLength(1);
  }

  it.each([
    ['no topic', 'data=x', 400, /missing "topic"/],
    ['a malformed escape', 'topic=a&data=100%', 400, /malformed percent-encoding "%"/],
    ['a bad escape', 'topic=%G1', 400, /malformed percent-encoding "%G1"/],
    ['invalid UTF-8', 'topic=%FF%FE', 400, /not valid UTF-8/],
    ['a non-numeric retry', 'topic=a&retry=soon', 400, /"retry" must be a non-negative integer/],
    ['an id starting with #', 'topic=a&id=%23frag', 400, /must not start with "#"/],
    [
      'an id with a line break',
      'topic=a&id=one%0Aevent: forged',
      400,
      /"id" must not contain CR, LF or NUL/,
    ],
    [
      'a type with a carriage return',
      'topic=a&type=x%0Ddata: forged',
      400,
      /"type" must not contain CR, LF or NUL/,
    ],
    ['a topic with a control character', 'topic=a%01b', 400, /control character/],
    [
      'an id with a control character',
      'topic=a&id=x%7Fy',
      400,
      /"id" "x\\u007fy" contains a control character/,
    ],
    ['too many topics', 'topic=a&topic=b&topic=c&topic=d', 400, /too many "topic" fields/],
  ])('refuses a publish with %s', async (_name, body, status, reason) => {
    await expectRefused(await post(body), status, reason);
  });

  it('refuses unsupported content types with 415', async () => {
    await expectRefused(
      await post('topic=a', { 'Content-Type': 'text/plain' }),
      415,
      /unsupported Content-Type "text\/plain"/,
    );
    await expectRefused(
      await post('topic=a', { 'Content-Type': 'multipart/form-data; boundary=x' }),
      415,
      /unsupported/,
    );
    await expectRefused(
      await post('topic=a', { 'Content-Encoding': 'gzip' }),
      415,
      /Content-Encoding "gzip" is not supported/,
    );
  });

  it('refuses malformed JSON bodies and unknown JSON fields with 400', async () => {
    const json = { 'Content-Type': 'application/json' };
    await expectRefused(await post('{"topic": ', json), 400, /malformed JSON body/);
    await expectRefused(await post('["a"]', json), 400, /must be an object/);
    await expectRefused(await post('{"topics": ["a"]}', json), 400, /unknown JSON field "topics"/);
    await expectRefused(
      await post('{"topic": 5}', json),
      400,
      /"topic" must be a string or an array of strings/,
    );
    await expectRefused(
      await post('{"topic": "a", "private": "yes"}', json),
      400,
      /"private" must be true or false/,
    );
    await expectRefused(
      await post('{"topic": "a", "id": "x\\ny"}', json),
      400,
      /"id" must not contain/,
    );
  });

  it('refuses a body over the limit with 413, by Content-Length or while reading', async () => {
    await expectRefused(
      await post(`topic=a&data=${'x'.repeat(5000)}`),
      413,
      /larger than 4096 bytes/,
    );
    // Chunked, no Content-Length: refused once the bytes pass the limit.
    const chunked = await rawPost(t.port, publisher, [
      'topic=a&data=',
      'y'.repeat(3000),
      'y'.repeat(3000),
    ]);
    expect(chunked.status).toBe(413);
    expect(chunked.body).toMatch(/larger than 4096 bytes/);
  });

  it('refuses subscriptions with too many topics, no topic, or a malformed template', async () => {
    await expectRefused(
      await fetch(subscribeUrl(t.hubUrl, ['a', 'b', 'c', 'd'])),
      400,
      /too many "topic" parameters: at most 3/,
    );
    await expectRefused(await fetch(t.hubUrl), 400, /missing "topic" query parameter/);
    await expectRefused(await fetch(`${t.hubUrl}?topic=%E0%A4`), 400, /not valid UTF-8/);
    await expectRefused(
      await fetch(subscribeUrl(t.hubUrl, ['https://example.com/{id'])),
      400,
      /invalid topic selector/,
    );
    expect(t.hub.metrics.connections).toBe(0);
  });

  it('answers other methods and paths with 405 and 404', async () => {
    const put = await fetch(t.hubUrl, { method: 'PUT' });
    await expectRefused(put, 405, /method PUT not allowed/);
    expect(put.headers.get('allow')).toBe('GET, POST, QUERY, OPTIONS');
    await expectRefused(await fetch(`${t.base}/nothing-here`), 404, /nothing at \/nothing-here/);
  });

  it('never answers bad input with a 500, and never publishes it', async () => {
    // Allowed to see private updates too: whatever was accepted must reach it.
    const watcher = await RawSubscriber.open(t.port, subscribePath(['*']), {
      Authorization: `Bearer ${await t.token({ subscribe: ['*'] })}`,
    }).opened();
    const published = t.hub.metrics.published;
    const field = fc.constantFrom('topic', 'data', 'id', 'type', 'retry', 'private', 'x', '');
    const value = fc.oneof(
      fc.string(),
      fc.constantFrom('%', '%zz', '%0A', '%FF', '#x', '-1', '1e3', '&', '='),
    );
    const form = fc
      .array(fc.tuple(field, value), { maxLength: 6 })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
    const body = fc.oneof(
      form,
      fc.string(),
      fc.uint8Array({ maxLength: 64 }).map((bytes) => new Uint8Array(bytes)),
    );
    const type = fc.constantFrom(
      'application/x-www-form-urlencoded',
      'application/json',
      'text/plain',
      '',
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(body, type, async (payload, contentType) => {
        const response = await post(
          payload,
          contentType === '' ? {} : { 'Content-Type': contentType },
        );
        await response.text();
        expect([200, 400, 403, 413, 415]).toContain(response.status);
        if (response.status === 200) accepted++;
      }),
      { numRuns: 150 },
    );
    // Only what the hub said 200 to was published; everything else left no trace.
    expect(t.hub.metrics.published - published).toBe(accepted);
    await sleep(20);
    expect(watcher.events).toHaveLength(accepted);
    await watcher.close();
  });
});

describe('deeply nested JSON', () => {
  let t: TestHub;
  let publisher: string;
  beforeAll(async () => {
    t = await startHub();
    publisher = await t.token({ publish: ['*'] });
  });
  afterAll(() => t.close());

  const postJson = (body: string) =>
    fetch(t.hubUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${publisher}`, 'Content-Type': 'application/json' },
      body,
    });
  const nested = (depth: number, open = '[', close = ']') =>
    `${open.repeat(depth)}${close.repeat(depth)}`;

  it('refuses data nested 10 000 levels deep with 400, not a 500 from a stack overflow', async () => {
    const published = t.hub.metrics.published;
    for (const [open, close] of [
      ['[', ']'],
      ['{"a":', '}'],
    ] as const) {
      const response = await postJson(`{"topic": "deep", "data": ${nested(10_000, open, close)}}`);
      const text = await response.text();
      expect(response.status, text).toBe(400);
      expect(text).toMatch(/JSON body nests deeper than 128 levels/);
      expect(text.trim().split('\n')).toHaveLength(1);
    }
    expect(t.hub.metrics.published).toBe(published);
  });

  it('accepts data up to the limit, and brackets inside strings do not count', async () => {
    const watcher = await RawSubscriber.open(t.port, subscribePath(['deep'])).opened();
    // The body object itself is one level: data may use the other 127.
    const deepest = nested(127);
    const brackets = `${'['.repeat(5000)}\\"${'{'.repeat(5000)}`;
    for (const data of [deepest, JSON.stringify(brackets)]) {
      const response = await postJson(`{"topic": "deep", "data": ${data}}`);
      expect(response.status, await response.text()).toBe(200);
    }
    await watcher.eventCount(2);
    expect(watcher.events.map((event) => event.data)).toEqual([deepest, brackets]);
    await watcher.close();
    const over = await postJson(`{"topic": "deep", "data": ${nested(128)}}`);
    expect(over.status).toBe(400);
  });
});

describe('connection limits', () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers 503 with Retry-After when the hub is full, and frees slots as streams close', async () => {
    t = await startHub({ maxConnections: 2, retryAfterSeconds: 7 });
    const a = await RawSubscriber.open(t.port, subscribePath(['x'])).opened();
    const b = await RawSubscriber.open(t.port, subscribePath(['x'])).opened();
    const refused = await RawSubscriber.open(t.port, subscribePath(['x'])).opened();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('7');
    await refused.until(
      () => refused.body.includes('limit of 2 open connections'),
      2000,
      'the reason',
    );
    await a.close();
    const c = await retryUntilOpen(t.port);
    expect(c.status).toBe(200);
    await Promise.all([b.close(), c.close(), refused.close()]);
  });

  it('answers 429 with Retry-After past the per-address limit, counting each address alone', async () => {
    t = await startHub({ maxConnectionsPerIp: 1, retryAfterSeconds: 3 });
    const first = await RawSubscriber.open(t.port, subscribePath(['x'])).opened();
    const second = await RawSubscriber.open(t.port, subscribePath(['x'])).opened();
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('3');
    await second.until(
      () => second.body.includes('too many open connections from 127.0.0.1'),
      2000,
      'the reason',
    );
    // Another address has its own allowance.
    const elsewhere = await RawSubscriber.open(
      t.port,
      subscribePath(['x']),
      {},
      { localAddress: '127.0.0.2' },
    ).opened();
    expect(elsewhere.status).toBe(200);
    await Promise.all([first.close(), second.close(), elsewhere.close()]);
  });

  it('disconnects a subscriber that stops reading, and counts it', async () => {
    t = await startHub({ maxQueueBytes: 256 * 1024, maxBodyBytes: 2 * 1024 * 1024 });
    const stalled = RawSubscriber.open(t.port, subscribePath(['firehose']));
    await stalled.opened();
    stalled.pause();
    const data = 'z'.repeat(1024 * 1024);
    for (let i = 0; i < 64 && t.hub.metrics.slowConsumersDropped === 0; i++) {
      expect((await t.publish({ topic: 'firehose', data })).status).toBe(200);
    }
    expect(t.hub.metrics.slowConsumersDropped).toBe(1);
    await sleep(20);
    expect(t.hub.metrics.connections).toBe(0);
    await stalled.close();
  });
});

async function retryUntilOpen(port: number): Promise<RawSubscriber> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const raw = await RawSubscriber.open(port, subscribePath(['x'])).opened();
    if (raw.status === 200) return raw;
    await raw.close();
    await sleep(10);
  }
  throw new Error('no slot was freed');
}

/** A POST with a chunked body (no Content-Length), written piece by piece. */
function rawPost(
  port: number,
  token: string,
  pieces: string[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/.well-known/mercure',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}
