import { request as httpRequest } from 'node:http';
import { mintAccessToken, mintToken } from '@tidings/hub';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET, startHub, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';
import { refusalReason } from './refusal.js';

const ISSUER = 'https://app.example';
const detail = 'https://mercure.rocks/authorization-detail';
/** The hub URL as derived for raw subscribers (`Host: 127.0.0.1`). */
const RAW_HUB_URL = 'http://127.0.0.1/.well-known/mercure';

/**
 * Draft-08 "Authorization": RFC 9068 access tokens with RFC 9396 authorization details,
 * the draft-08 cookie, no token in the URL, and RFC 6750 errors with RFC 9728 metadata.
 */
describe('draft-08 access tokens', () => {
  let t: TestHub;
  let metadataUrl: string;
  const access = (options: Partial<Parameters<typeof mintAccessToken>[0]> = {}) =>
    mintAccessToken({
      secret: SECRET,
      issuer: ISSUER,
      audience: [t.hubUrl, RAW_HUB_URL],
      ...options,
    });
  /** A token with these claims and header, signed with the test secret. */
  const signed = (claims: Record<string, unknown>, typ = 'at+jwt') =>
    new SignJWT({
      iss: ISSUER,
      aud: t.hubUrl,
      exp: Math.floor(Date.now() / 1000) + 600,
      authorization_details: [{ type: detail, actions: ['publish'], topics: [{ match: '*' }] }],
      ...claims,
    })
      .setProtectedHeader({ alg: 'HS256', typ })
      .sign(new TextEncoder().encode(SECRET));
  const publishWith = (token: string, fields: Record<string, string>) =>
    fetch(t.hubUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: new URLSearchParams(fields),
    });

  beforeAll(async () => {
    t = await startHub({
      auth: { anonymous: false, issuer: ISSUER, allowedOrigins: ['https://app.example'] },
    });
    metadataUrl = `${t.base}/.well-known/oauth-protected-resource/.well-known/mercure`;
  });
  afterAll(() => t.close());

  async function subscribe08(query: string, headers: Record<string, string>) {
    // The raw subscriber sends `Host: 127.0.0.1`: the hub URL derived from it has no port.
    return RawSubscriber.open(t.port, `/.well-known/mercure?${query}`, headers).opened();
  }

  it('publishes with a publish grant and delivers private updates by subscribe grants', async () => {
    const reader = await access({
      subscribe: [{ match: 'https://example.com/books/:id', match_type: 'urlpattern' }],
    });
    const stranger = await access({ subscribe: ['https://example.com/authors/1'] });
    const allowed = await subscribe08('match=*', { Authorization: `Bearer ${reader}` });
    const denied = await subscribe08('match=*', { Authorization: `Bearer ${stranger}` });
    expect([allowed.status, denied.status]).toEqual([200, 200]);

    const publisher = await access({
      publish: [{ match: 'https://example.com/books/:id', match_type: 'urlpattern' }],
    });
    const ok = await publishWith(publisher, {
      topic: 'https://example.com/books/1',
      data: 'secret',
      private: 'on',
    });
    expect(ok.status, await ok.clone().text()).toBe(200);
    await publishWith(publisher, { topic: 'https://example.com/books/2', data: 'open' });
    expect((await allowed.eventCount(2)).map((event) => event.data)).toEqual(['secret', 'open']);
    expect((await denied.eventCount(1)).map((event) => event.data)).toEqual(['open']);
    await allowed.close();
    await denied.close();
  });

  it('refuses a publish outside the grant with 403 insufficient_scope', async () => {
    const publisher = await access({ publish: ['https://example.com/books/1'] });
    const response = await publishWith(publisher, {
      topic: 'https://example.com/admin',
      data: 'x',
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toMatch(
      new RegExp(
        `^Bearer realm="mercure", error="insufficient_scope", .*resource_metadata="${metadataUrl}"$`,
      ),
    );
    expect(await refusalReason(response)).toMatch(
      /no "publish" authorization detail of the token matches it/,
    );
  });

  it('answers a missing token with a bare challenge pointing at the metadata', async () => {
    const raw = await subscribe08('match=x', {});
    expect(raw.status).toBe(401);
    expect(raw.headers['www-authenticate']).toBe(
      'Bearer realm="mercure", resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/.well-known/mercure"',
    );
    await raw.close();
  });

  it('takes no token from the query string on draft-08, and reads the draft-08 cookie', async () => {
    const token = await access({ subscribe: ['*'] });
    const query = await subscribe08(`match=x&authorization=${token}`, {});
    expect(query.status).toBe(401);
    expect(query.body).toMatch(/no token:.*"__Secure-mercure_access_token" cookie/);
    await query.close();
    const oldCookie = await subscribe08('match=x', {
      Cookie: `mercureAuthorization=${token}`,
      Origin: 'https://app.example',
    });
    expect(oldCookie.status).toBe(401);
    await oldCookie.close();
    const cookie = await subscribe08('match=x', {
      Cookie: `__Secure-mercure_access_token=${token}`,
      Origin: 'https://app.example',
    });
    expect(cookie.status).toBe(200);
    await cookie.close();
  });

  it('refuses a draft-07 token on a draft-08 request, and accepts it on draft-07', async () => {
    const legacy = await mintToken({ secret: SECRET, subscribe: ['*'] });
    const raw08 = await subscribe08('match=x', { Authorization: `Bearer ${legacy}` });
    expect(raw08.status).toBe(401);
    expect(raw08.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(raw08.body).toMatch(/needs an RFC 9068 access token/);
    await raw08.close();
    const raw07 = await subscribe08('topic=x', { Authorization: `Bearer ${legacy}` });
    expect(raw07.status).toBe(200);
    await raw07.close();
  });

  it.each([
    ['a token without typ at+jwt', () => signed({}, 'JWT'), /"typ": "at\+jwt"/],
    ['a token without exp', () => signed({ exp: undefined }), /no "exp" claim/],
    [
      'a token for another hub',
      () => signed({ aud: 'https://other.example/.well-known/mercure' }),
      /does not name this hub/,
    ],
    [
      'a token from another issuer',
      () => signed({ iss: 'https://evil.example' }),
      /is not the trusted issuer/,
    ],
    [
      'bare-string topics',
      () =>
        signed({ authorization_details: [{ type: detail, actions: ['publish'], topics: ['*'] }] }),
      /must be an object like \{"match"/,
    ],
    [
      'an unknown match_type',
      () =>
        signed({
          authorization_details: [
            {
              type: detail,
              actions: ['publish'],
              topics: [{ match: 'x', match_type: 'URLPattern' }],
            },
          ],
        }),
      /match_type must be "exact" or "urlpattern"/,
    ],
    [
      'a malformed URL pattern',
      () =>
        signed({
          authorization_details: [
            {
              type: detail,
              actions: ['publish'],
              topics: [{ match: 'https://x/(a)', match_type: 'urlpattern' }],
            },
          ],
        }),
      /not a valid URL pattern/,
    ],
    [
      'empty actions',
      () =>
        signed({
          authorization_details: [{ type: detail, actions: [], topics: [{ match: '*' }] }],
        }),
      /actions must be a non-empty array/,
    ],
  ])('refuses %s with 401 invalid_token', async (_name, token, reason) => {
    const response = await publishWith(await token(), { topic: 'x', data: 'y' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="mercure", error="invalid_token"/,
    );
    expect(await refusalReason(response)).toMatch(reason);
  });

  it('ignores unknown actions and other detail types: they grant nothing', async () => {
    const token = await signed({
      authorization_details: [
        { type: detail, actions: ['publish-later'], topics: [{ match: '*' }] },
        { type: 'https://other.example/detail', actions: ['publish'], locations: ['x'] },
      ],
    });
    const response = await publishWith(token, { topic: 'x', data: 'y' });
    expect(response.status).toBe(403);
  });

  it.each([
    [{ topic: '*', data: 'x' }, /topic "\*" is reserved/],
    [{ topic: 'x', type: 'mercure', data: 'x' }, /"type" must not be "mercure"/],
    [{ topic: 'x', id: 'earliest', data: 'x' }, /"id" must not be "earliest"/],
    [{ topic: 'a\u200eb', data: 'x' }, /control or format character \(U\+200E/],
  ])('refuses the reserved values of a draft-08 publish %j', async (fields, reason) => {
    const response = await publishWith(await access({ publish: ['*'] }), fields);
    expect(response.status).toBe(400);
    expect(await refusalReason(response)).toMatch(reason);
  });

  it('serves the RFC 9728 protected resource metadata', async () => {
    const response = await fetch(metadataUrl);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: t.hubUrl,
      authorization_details_types_supported: [detail],
      bearer_methods_supported: ['header'],
      mercure_cookie: '__Secure-mercure_access_token',
    });
  });
});

describe('--public-url', () => {
  it('answers 421 for another host, and uses the public URL as the audience and pattern base', async () => {
    const t = await startHub({ publicUrl: 'https://hub.example/.well-known/mercure' });
    try {
      const misdirected = await fetch(`${t.hubUrl}?match=x`);
      expect(misdirected.status).toBe(421);
      expect(await refusalReason(misdirected)).toMatch(
        /this hub answers as https:\/\/hub.example, not for host "127.0.0.1:\d+"/,
      );
      // The hub's own host: relative patterns resolve against the public URL.
      const data = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          `${t.hubUrl}?${new URLSearchParams({ match_urlpattern: '/books/:id' })}`,
          { headers: { Host: 'hub.example', Accept: 'text/event-stream' } },
          (res) => {
            expect(res.statusCode).toBe(200);
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              const found = /^data: (.*)$/m.exec(chunk);
              if (found) {
                res.destroy();
                resolve(found[1]!);
              }
            });
            void t.hub.publish({
              topics: ['https://hub.example/books/1'],
              data: 'on the public host',
            });
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(data).toBe('on the public host');
    } finally {
      await t.close();
    }
  });
});
