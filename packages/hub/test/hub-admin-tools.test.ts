/**
 * The dashboard's token and selector tools over real HTTP: what they answer, and how they
 * refuse what they should not take (wrong type, too large, another site's page, too many).
 */
import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { SECRET, startHub, type TestHub } from './hub-harness.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

function ask(
  path: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Response> {
  return fetch(`${hub!.base}${path}`, { method: 'POST', headers, body });
}

describe('admin tools', () => {
  it('answers the token, selector and (in development) mint questions as JSON', async () => {
    hub = await startHub({ admin: 'public', devSecret: SECRET });
    const minted = await ask(
      '/admin/token/mint',
      JSON.stringify({ publish: ['*'], expiresInSeconds: 60 }),
    );
    expect(minted.status).toBe(200);
    const { token } = (await minted.json()) as { token: string };
    const report = await ask('/admin/token', JSON.stringify({ token }));
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await report.json()).toMatchObject({
      decoded: true,
      alg: 'HS256',
      publisher: { accepted: true },
    });
    // The minted token publishes.
    expect((await hub.publish({ topic: 'https://example.com/1', data: 'x' }, token)).status).toBe(
      200,
    );

    const selector = await ask(
      '/admin/selector',
      JSON.stringify({ selector: 'https://example.com/{id}', topic: 'https://example.com/1' }),
    );
    expect(await selector.json()).toMatchObject({ matches: true, rule: 'uri-template' });
  });

  it('refuses with a status and a reason, and changes nothing', async () => {
    hub = await startHub({ admin: 'public' });
    const notJson = await ask('/admin/token', 'token=abc', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(notJson.status).toBe(415);
    expect(await notJson.text()).toContain('Content-Type: application/json');

    const large = await ask(
      '/admin/selector',
      JSON.stringify({ selector: 'x'.repeat(17_000), topic: 't' }),
    );
    expect(large.status).toBe(413);

    const crossSite = await ask('/admin/token', '{"token":"a.b.c"}', {
      'content-type': 'application/json',
      origin: 'https://evil.example',
    });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.text()).toContain('https://evil.example');
    const fetchSite = await ask('/admin/token', '{"token":"a.b.c"}', {
      'content-type': 'application/json',
      'sec-fetch-site': 'cross-site',
    });
    expect(fetchSite.status).toBe(403);
    const sameOrigin = await ask('/admin/token', '{"token":"a.b.c"}', {
      'content-type': 'application/json',
      origin: hub.base,
      'sec-fetch-site': 'same-origin',
    });
    expect(sameOrigin.status).toBe(200);

    expect((await ask('/admin/token', '{"token":')).status).toBe(400);
    expect((await ask('/admin/token', '[]')).status).toBe(400);
    expect((await ask('/admin/token', '{"token":42}')).status).toBe(400);
    expect(
      (await ask('/admin/selector', '{"selector":"*","topic":"t","kind":"regex"}')).status,
    ).toBe(400);
    // Not in development: no secret, no minting.
    const mint = await ask('/admin/token/mint', '{}');
    expect(mint.status).toBe(404);
    expect(await mint.text()).toContain('--dev');
    const get = await fetch(`${hub.base}/admin/token`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('allows 60 questions a minute per address, then 429 with Retry-After', async () => {
    hub = await startHub({ admin: 'public' });
    const body = JSON.stringify({ selector: '*', topic: 't' });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await ask('/admin/selector', body)).status);
    expect(new Set(statuses)).toEqual(new Set([200]));
    const refused = await ask('/admin/selector', body);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toContain('60 a minute');
  });

  it('is served on the admin listener only', async () => {
    hub = await startHub();
    const response = await ask('/admin/token', '{"token":"a.b.c"}');
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('--admin-listen');
    const admin = await hub.hub.listenAdmin(0, '127.0.0.1');
    const onAdmin = await fetch(`http://127.0.0.1:${admin.port}/admin/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"token":"a.b.c"}',
    });
    expect(onAdmin.status).toBe(200);
  });

  it('adds the last ten seconds of publish-to-write latency to /stats', async () => {
    hub = await startHub({ admin: 'public' });
    for (let i = 0; i < 3; i++)
      await hub.publish({ topic: 'https://example.com/1', data: String(i) });
    // Fan-out runs after the publish is acknowledged: ask until all three were written.
    // The first frame of a new /stats stream carries the numbers as they are now.
    const latency = () =>
      new Promise<{ count: number; p50Ms: number; p99Ms: number }>((resolve, reject) => {
        const request = get(`${hub!.base}/stats`, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
            if (!text.includes('\n\n')) return;
            request.destroy();
            resolve(JSON.parse(/^data: (.*)$/m.exec(text)![1]!).latency);
          });
        });
        request.on('error', reject);
      });
    await expect.poll(async () => (await latency()).count, { timeout: 10_000 }).toBe(3);
    const latest = await latency();
    expect(latest.p50Ms).toBeGreaterThan(0);
    expect(latest.p99Ms).toBeGreaterThanOrEqual(latest.p50Ms);
  });
});
