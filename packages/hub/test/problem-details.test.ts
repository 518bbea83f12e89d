import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type TestHub } from './hub-harness.js';

/**
 * RFC 9457: every refusal is a problem details document for a client that takes JSON
 * (explicitly, or through the `*\/*` HTTP libraries send), and the same one-line reason as
 * text for one that prefers text or says nothing; `WWW-Authenticate` is kept either way.
 */
describe('refusals as application/problem+json', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ auth: { anonymous: false } });
  });
  afterAll(() => t.close());

  const publishWith = (accept: string | undefined, token = 'not-a-jwt') =>
    fetch(t.hubUrl, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        ...(accept === undefined ? {} : { Accept: accept }),
      },
      body: 'topic=x&data=y',
    });

  it.each([
    ['*/*'],
    ['application/json'],
    ['application/problem+json'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
    ['text/plain;q=0.5, application/json'],
  ])('answers Accept: %s with a problem document and the Bearer challenge', async (accept) => {
    const response = await publishWith(accept);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="mercure", error="invalid_token", error_description="malformed token/,
    );
    const text = await response.text();
    expect(text.split('\n')).toHaveLength(1);
    expect(JSON.parse(text)).toEqual({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: expect.stringMatching(/^malformed token in the Authorization header: a JWT has 3/),
    });
  });

  it.each([
    ['text/plain'],
    ['text/event-stream'],
    ['text/plain, */*'],
    ['application/json;q=0.2, text/*'],
  ])('answers Accept: %s with the reason as text', async (accept) => {
    const response = await publishWith(accept);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(await response.text()).toMatch(/^malformed token in the Authorization header.*\n$/);
  });

  it('answers a request without Accept as text', async () => {
    const { status, type, body } = await new Promise<{
      status: number;
      type: string;
      body: string;
    }>((resolve, reject) => {
      const req = request(`${t.hubUrl}?topic=x`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, type: res.headers['content-type']!, body }),
        );
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
    expect(type).toBe('text/plain; charset=utf-8');
    expect(body).toMatch(/^no token: this hub does not accept anonymous subscribers/);
  });

  it('carries 400, 403, 404, 405 and 415 the same way, with their status titles', async () => {
    const publisher = await t.token({ publish: ['https://example.com/books/{id}'] });
    const cases: [Promise<Response>, number, string, RegExp][] = [
      [
        fetch(t.hubUrl, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${publisher}`,
            'Content-Type': 'application/x-www-form-urlencoded',
          },
          body: 'data=x',
        }),
        400,
        'Bad Request',
        /missing "topic" field/,
      ],
      [publishWith('*/*', publisher), 403, 'Forbidden', /not allowed to publish to topic "x"/],
      [fetch(`${t.base}/nothing`), 404, 'Not Found', /nothing at \/nothing/],
      [fetch(t.hubUrl, { method: 'PUT' }), 405, 'Method Not Allowed', /method PUT not allowed/],
      [
        fetch(t.hubUrl, {
          method: 'POST',
          headers: { Authorization: `Bearer ${publisher}`, 'Content-Type': 'text/csv' },
          body: 'a,b',
        }),
        415,
        'Unsupported Media Type',
        /unsupported Content-Type "text\/csv"/,
      ],
    ];
    for (const [pending, status, title, detail] of cases) {
      const response = await pending;
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      const problem = (await response.json()) as Record<string, unknown>;
      expect(problem).toMatchObject({ type: 'about:blank', title, status });
      expect(problem.detail).toMatch(detail);
    }
  });
});
