import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuthConfig,
  AuthConfigError,
  AuthError,
  Authenticator,
  checkPublish,
  type KeyConfig,
  mintToken,
  type Principal,
} from '@tidings/hub';
import {
  CompactSign,
  type CryptoKey,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { requireBinary } from '../../../test-support/binaries.js';

const PUBLISHER_SECRET = 'publisher-secret-of-at-least-32-bytes!';
const SUBSCRIBER_SECRET = 'subscriber-secret-of-at-least-32-bytes';
const HUB = 'https://hub.example';

interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
  pem: string;
}

async function keyPair(alg: string, options: { crv?: string } = {}): Promise<KeyPair> {
  const pair = await generateKeyPair(alg, { ...options, extractable: true });
  return { ...pair, pem: await exportSPKI(pair.publicKey) };
}

/** The private key of a pair imported for another algorithm of its family (RS256 -> PS512). */
async function signingKey(pair: KeyPair, alg: string): Promise<CryptoKey> {
  return importPKCS8(await exportPKCS8(pair.privateKey), alg);
}

let rsa: KeyPair;
let otherRsa: KeyPair;
let ec: KeyPair;
let ed: KeyPair;
let tmp: string;

beforeAll(async () => {
  [rsa, otherRsa, ec, ed] = await Promise.all([
    keyPair('RS256'),
    keyPair('RS256'),
    keyPair('ES256'),
    keyPair('EdDSA', { crv: 'Ed25519' }),
  ]);
  tmp = await mkdtemp(join(tmpdir(), 'tidings-auth-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const secret = (value: string) => new TextEncoder().encode(value);

function sign(
  claims: Record<string, unknown>,
  key: CryptoKey | Uint8Array,
  header: { alg: string; kid?: string } = { alg: 'HS256' },
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).setIssuedAt().sign(key);
}

function config(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    publisherKey: { kind: 'secret', secret: PUBLISHER_SECRET },
    subscriberKey: { kind: 'secret', secret: SUBSCRIBER_SECRET },
    anonymous: false,
    allowedOrigins: ['https://app.example'],
    ...overrides,
  };
}

function request(
  headers: IncomingHttpHeaders = {},
  query = '',
): { headers: IncomingHttpHeaders; url: URL } {
  return {
    headers: { host: 'hub.example', ...headers },
    url: new URL(`/.well-known/mercure${query}`, HUB),
  };
}

const bearer = (token: string) => request({ authorization: `Bearer ${token}` });

/** The refusal an authentication attempt ends in, or the principal when it succeeds. */
async function outcome(
  promise: Promise<Principal | undefined>,
): Promise<{ status: number; code: string; message: string } | Principal | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    expect(error.message).not.toMatch(/[\r\n]/);
    return { status: error.status, code: error.code, message: error.message };
  }
}

describe('Authenticator: where the token comes from', () => {
  let auth: Authenticator;
  let good: string;
  let bad: string;
  beforeAll(async () => {
    auth = await Authenticator.create(config());
    good = await sign({ mercure: { publish: ['*'] } }, secret(PUBLISHER_SECRET));
    bad = await sign(
      { mercure: { publish: ['*'] } },
      secret('a-different-secret-of-32-bytes-or-more'),
    );
  });

  it('reads "Authorization: Bearer", case-insensitively for the scheme', async () => {
    for (const header of [`Bearer ${good}`, `bearer ${good}`, `BEARER   ${good}  `]) {
      const principal = await auth.authenticate(request({ authorization: header }), 'publisher');
      expect(principal?.source).toBe('header');
      expect(principal?.token).toBe(good);
    }
  });

  it('else the authorization query parameter', async () => {
    const principal = await auth.authenticate(
      request({}, `?topic=x&authorization=${good}`),
      'publisher',
    );
    expect(principal?.source).toBe('query');
  });

  it('else the mercureAuthorization cookie', async () => {
    const principal = await auth.authenticate(
      request({
        cookie: `theme=dark; mercureAuthorization=${good}; other=1`,
        origin: 'https://app.example',
      }),
      'publisher',
    );
    expect(principal?.source).toBe('cookie');
  });

  it('uses the header even when the query and cookie hold other tokens ("MUST be ignored")', async () => {
    const headers = { authorization: `Bearer ${good}`, cookie: `mercureAuthorization=${bad}` };
    expect(
      (await auth.authenticate(request(headers, `?authorization=${bad}`), 'publisher'))?.source,
    ).toBe('header');
    const refused = await outcome(
      auth.authenticate(
        request(
          { authorization: `Bearer ${bad}`, cookie: `mercureAuthorization=${good}` },
          `?authorization=${good}`,
        ),
        'publisher',
      ),
    );
    expect(refused).toMatchObject({ status: 401, code: 'bad-signature' });
  });

  it('uses the query parameter over the cookie, and skips the cookie origin check then', async () => {
    const headers = { cookie: `mercureAuthorization=${bad}`, origin: 'https://evil.example' };
    expect(
      (await auth.authenticate(request(headers, `?authorization=${good}`), 'publisher'))?.source,
    ).toBe('query');
  });

  it('honours a configured cookie name and query parameter', async () => {
    const custom = await Authenticator.create(
      config({ cookieName: 'hubToken', queryParam: 'jwt' }),
    );
    expect((await custom.authenticate(request({}, `?jwt=${good}`), 'publisher'))?.source).toBe(
      'query',
    );
    expect(
      (
        await custom.authenticate(
          request({ cookie: `hubToken="${good}"`, origin: 'https://app.example' }),
          'publisher',
        )
      )?.source,
    ).toBe('cookie');
    expect(
      await outcome(custom.authenticate(request({}, `?authorization=${good}`), 'publisher')),
    ).toMatchObject({
      status: 401,
      code: 'no-token',
      message: expect.stringContaining('"jwt" query parameter or the "hubToken" cookie'),
    });
  });
});

describe('Authenticator: anonymous subscribers', () => {
  it('are let in (no principal) when configured, and only as subscribers', async () => {
    const auth = await Authenticator.create(config({ anonymous: true }));
    expect(await auth.authenticate(request(), 'subscriber')).toBeUndefined();
    expect(await outcome(auth.authenticate(request(), 'publisher'))).toMatchObject({
      status: 401,
      code: 'no-token',
    });
  });

  it('still have a bad token refused, not downgraded to anonymous', async () => {
    const auth = await Authenticator.create(config({ anonymous: true }));
    const token = await sign({}, secret('a-different-secret-of-32-bytes-or-more'));
    expect(await outcome(auth.authenticate(bearer(token), 'subscriber'))).toMatchObject({
      status: 401,
      code: 'bad-signature',
    });
  });
});

describe('Authenticator: claims and expiry', () => {
  it('returns the mercure claims, the payload and expiresAt from exp', async () => {
    const auth = await Authenticator.create(config());
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = await sign(
      { exp, mercure: { subscribe: ['https://example.com/books/{id}'], payload: { user: 42 } } },
      secret(SUBSCRIBER_SECRET),
    );
    const principal = await auth.authenticate(bearer(token), 'subscriber');
    expect(principal).toEqual({
      claims: { subscribe: ['https://example.com/books/{id}'], payload: { user: 42 } },
      expiresAt: exp * 1000,
      token,
      source: 'header',
      draft: '07',
    });
  });

  it('has no expiresAt without exp, and empty claims without the mercure claim', async () => {
    const auth = await Authenticator.create(config());
    const principal = await auth.authenticate(
      bearer(await sign({ sub: 'x' }, secret(SUBSCRIBER_SECRET))),
      'subscriber',
    );
    expect(principal?.claims).toEqual({});
    expect(principal?.expiresAt).toBeUndefined();
  });

  it('tolerates configured clock skew', async () => {
    const auth = await Authenticator.create(config({ clockToleranceSeconds: 30 }));
    const token = await sign({ exp: Math.floor(Date.now() / 1000) - 5 }, secret(SUBSCRIBER_SECRET));
    expect(await auth.authenticate(bearer(token), 'subscriber')).toBeDefined();
  });
});

describe('Authenticator: a token verified before', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is refused as expired from the second its exp passes, clock tolerance included', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = Math.floor(Date.now() / 1000);
    vi.setSystemTime(now * 1000);
    const auth = await Authenticator.create(config({ clockToleranceSeconds: 5 }));
    const token = await sign({ exp: now + 10 }, secret(PUBLISHER_SECRET));
    expect(await auth.authenticate(bearer(token), 'publisher')).toBeDefined();
    vi.setSystemTime((now + 14) * 1000);
    expect(await auth.authenticate(bearer(token), 'publisher')).toBeDefined();
    vi.setSystemTime((now + 15) * 1000);
    expect(await outcome(auth.authenticate(bearer(token), 'publisher'))).toMatchObject({
      status: 401,
      code: 'expired',
    });
  });

  it('as a publisher says nothing about the subscriber key', async () => {
    const auth = await Authenticator.create(config());
    const token = await sign({ mercure: { publish: ['*'] } }, secret(PUBLISHER_SECRET));
    expect(await auth.authenticate(bearer(token), 'publisher')).toBeDefined();
    expect(await outcome(auth.authenticate(bearer(token), 'subscriber'))).toMatchObject({
      status: 401,
      code: 'bad-signature',
    });
  });

  it('still has its claims read per request: a draft-08 token against each hub URL', async () => {
    const auth = await Authenticator.create(config());
    const token = await new SignJWT({
      authorization_details: [{ type: 'mercure', actions: ['publish'], locations: ['*'] }],
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .setSubject('publisher')
      .setIssuer('https://issuer.example')
      .setAudience(`${HUB}/.well-known/mercure`)
      .setJti('jti-1')
      .sign(secret(PUBLISHER_SECRET));
    const asked = (hubUrl: string) => ({ ...bearer(token), hubUrl, draft: '08' as const });
    expect(await auth.authenticate(asked(`${HUB}/.well-known/mercure`), 'publisher')).toMatchObject(
      { draft: '08' },
    );
    expect(
      await outcome(
        auth.authenticate(asked('https://other.example/.well-known/mercure'), 'publisher'),
      ),
    ).toMatchObject({
      status: 401,
      message: expect.stringMatching(/"aud" .* does not name this hub/),
    });
  });
});

describe('Authenticator: the failure matrix (status, code, message)', () => {
  let auth: Authenticator;
  let rsaAuth: Authenticator;
  beforeAll(async () => {
    auth = await Authenticator.create(config({ allowedOrigins: ['https://app.example', '*'] }));
    rsaAuth = await Authenticator.create(
      config({
        publisherKey: { kind: 'public-key', pem: rsa.pem },
        subscriberKey: { kind: 'public-key', pem: rsa.pem },
      }),
    );
  });

  const publisherToken = () => sign({ mercure: { publish: ['*'] } }, secret(PUBLISHER_SECRET));

  it('no token, publisher', async () => {
    expect(await outcome(auth.authenticate(request(), 'publisher'))).toEqual({
      status: 401,
      code: 'no-token',
      message:
        'no token: publishing needs a JWT signed with the publisher key with a mercure.publish claim, sent as "Authorization: Bearer <token>", the "authorization" query parameter or the "mercureAuthorization" cookie',
    });
  });

  it('no token, subscriber on a hub without anonymous access', async () => {
    expect(await outcome(auth.authenticate(request(), 'subscriber'))).toEqual({
      status: 401,
      code: 'no-token',
      message:
        'no token: this hub does not accept anonymous subscribers; send a JWT signed with the subscriber key as "Authorization: Bearer <token>", the "authorization" query parameter or the "mercureAuthorization" cookie',
    });
  });

  it('an Authorization header of another scheme', async () => {
    expect(
      await outcome(
        auth.authenticate(request({ authorization: 'Basic dXNlcjpwYXNz' }), 'publisher'),
      ),
    ).toEqual({
      status: 401,
      code: 'malformed-authorization-header',
      message:
        'malformed Authorization header: expected "Bearer <token>", got a "Basic" credential',
    });
  });

  it('"Bearer" without a token, or with two', async () => {
    for (const header of ['Bearer', 'Bearer  ', 'Bearer a.b.c d.e.f']) {
      expect(
        await outcome(auth.authenticate(request({ authorization: header }), 'publisher')),
      ).toEqual({
        status: 401,
        code: 'malformed-authorization-header',
        message: 'malformed Authorization header: "Bearer" must be followed by exactly one token',
      });
    }
  });

  it('an empty authorization query parameter', async () => {
    expect(await outcome(auth.authenticate(request({}, '?authorization='), 'publisher'))).toEqual({
      status: 401,
      code: 'malformed-token',
      message: 'malformed token: the authorization query parameter is empty',
    });
  });

  it('a token that is not three base64url parts', async () => {
    expect(await outcome(auth.authenticate(bearer('not-a-jwt'), 'publisher'))).toEqual({
      status: 401,
      code: 'malformed-token',
      message:
        'malformed token in the Authorization header: a JWT has 3 base64url parts separated by dots, this has 1',
    });
    expect(
      await outcome(auth.authenticate(request({}, '?authorization=a.b'), 'publisher')),
    ).toMatchObject({
      message:
        'malformed token in the authorization query parameter: a JWT has 3 base64url parts separated by dots, this has 2',
    });
    expect(await outcome(auth.authenticate(bearer('a+b.c/d.e='), 'publisher'))).toMatchObject({
      code: 'malformed-token',
      message:
        'malformed token in the Authorization header: it has characters outside base64url (A-Z a-z 0-9 - _)',
    });
  });

  it('an encrypted JWE', async () => {
    expect(await outcome(auth.authenticate(bearer('a.b.c.d.e'), 'publisher'))).toEqual({
      status: 401,
      code: 'malformed-token',
      message:
        'malformed token in the Authorization header: it is an encrypted JWE; the hub accepts signed JWTs (JWS) only',
    });
  });

  it('a header that is not base64url JSON', async () => {
    expect(await outcome(auth.authenticate(bearer('bm90IGpzb24.e30.c2ln'), 'publisher'))).toEqual({
      status: 401,
      code: 'malformed-token',
      message:
        'malformed token in the Authorization header: its header is not base64url-encoded JSON',
    });
  });

  it('a header without alg', async () => {
    const header = Buffer.from('{"typ":"JWT"}').toString('base64url');
    expect(await outcome(auth.authenticate(bearer(`${header}.e30.c2ln`), 'publisher'))).toEqual({
      status: 401,
      code: 'malformed-token',
      message: 'malformed token in the Authorization header: its header has no "alg"',
    });
  });

  it('a payload that is not a JSON object', async () => {
    const token = await new CompactSign(new TextEncoder().encode('[1,2]'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(secret(PUBLISHER_SECRET));
    expect(await outcome(auth.authenticate(bearer(token), 'publisher'))).toMatchObject({
      status: 401,
      code: 'malformed-token',
      message: expect.stringMatching(/^malformed token in the Authorization header: .*JSON object/),
    });
  });

  it('alg: none (an unsecured JWT)', async () => {
    const token = new UnsecuredJWT({ mercure: { publish: ['*'] } }).encode();
    expect(await outcome(auth.authenticate(bearer(token), 'publisher'))).toEqual({
      status: 401,
      code: 'wrong-algorithm',
      message:
        'wrong algorithm: the token in the Authorization header is unsigned ("alg": "none"); sign it with the publisher key (HS256)',
    });
    // Any spelling of "none", with or without a signature part.
    const header = Buffer.from('{"alg":"NoNe"}').toString('base64url');
    const payload = Buffer.from('{"mercure":{"publish":["*"]}}').toString('base64url');
    expect(
      await outcome(auth.authenticate(bearer(`${header}.${payload}.`), 'publisher')),
    ).toMatchObject({
      code: 'wrong-algorithm',
    });
  });

  it('HS/RS confusion: an HS256 token "signed" with the RSA public key as the secret', async () => {
    const token = await sign({ mercure: { publish: ['*'] } }, secret(rsa.pem));
    expect(await outcome(rsaAuth.authenticate(bearer(token), 'publisher'))).toEqual({
      status: 401,
      code: 'wrong-algorithm',
      message:
        'wrong algorithm: the token in the Authorization header is signed with "HS256", but the publisher key (a 2048-bit RSA public key) accepts only RS256, RS384, RS512, PS256, PS384, PS512',
    });
  });

  it('an RS256 token where a secret is configured, an ES256 token where an RSA key is', async () => {
    const rs = await sign({}, rsa.privateKey, { alg: 'RS256' });
    expect(await outcome(auth.authenticate(bearer(rs), 'publisher'))).toEqual({
      status: 401,
      code: 'wrong-algorithm',
      message:
        'wrong algorithm: the token in the Authorization header is signed with "RS256", but the publisher key (a shared secret) accepts only HS256',
    });
    const es = await sign({}, ec.privateKey, { alg: 'ES256' });
    expect(await outcome(rsaAuth.authenticate(bearer(es), 'subscriber'))).toMatchObject({
      status: 401,
      code: 'wrong-algorithm',
      message: expect.stringContaining(
        'signed with "ES256", but the subscriber key (a 2048-bit RSA public key)',
      ),
    });
  });

  it('a bad signature: another secret, another key pair, a tampered payload', async () => {
    const otherSecret = await sign({}, secret('a-different-secret-of-32-bytes-or-more'));
    expect(await outcome(auth.authenticate(bearer(otherSecret), 'publisher'))).toEqual({
      status: 401,
      code: 'bad-signature',
      message:
        'bad signature: the token in the Authorization header was not signed with the publisher key',
    });
    const otherPair = await sign({}, otherRsa.privateKey, { alg: 'RS256' });
    expect(await outcome(rsaAuth.authenticate(bearer(otherPair), 'publisher'))).toMatchObject({
      status: 401,
      code: 'bad-signature',
    });
    const [header, , signature] = (await publisherToken()).split('.');
    const forged = Buffer.from('{"mercure":{"publish":["*"],"subscribe":["*"]}}').toString(
      'base64url',
    );
    expect(
      await outcome(auth.authenticate(bearer(`${header}.${forged}.${signature}`), 'publisher')),
    ).toMatchObject({
      status: 401,
      code: 'bad-signature',
    });
  });

  it('a publisher token used to subscribe (separate keys)', async () => {
    expect(await outcome(auth.authenticate(bearer(await publisherToken()), 'subscriber'))).toEqual({
      status: 401,
      code: 'bad-signature',
      message:
        'bad signature: the token in the Authorization header was not signed with the subscriber key',
    });
  });

  it('an expired token, saying when it expired', async () => {
    const exp = Math.floor(Date.now() / 1000) - 90;
    const token = await sign({ exp }, secret(PUBLISHER_SECRET));
    const result = await outcome(auth.authenticate(bearer(token), 'publisher'));
    expect(result).toMatchObject({ status: 401, code: 'expired' });
    expect((result as { message: string }).message).toMatch(
      new RegExp(
        `^token expired at ${new Date(exp * 1000).toISOString().replace(/[.]/g, '\\.')} \\(9\\d s ago\\): the token in the Authorization header is no longer valid; get a fresh one$`,
      ),
    );
  });

  it('a token used before its nbf', async () => {
    const nbf = Math.floor(Date.now() / 1000) + 3600;
    const token = await sign({ nbf }, secret(PUBLISHER_SECRET));
    expect(await outcome(auth.authenticate(bearer(token), 'publisher'))).toEqual({
      status: 401,
      code: 'not-yet-valid',
      message: `token not yet valid: the token in the Authorization header may be used from ${new Date(nbf * 1000).toISOString()} ("nbf")`,
    });
  });

  it('malformed mercure claims', async () => {
    const cases: [unknown, string][] = [
      [
        'publish everything',
        'invalid token claims: the mercure claim must be an object such as {"subscribe": ["*"]}',
      ],
      [
        { publish: '*' },
        'invalid token claims: mercure.publish must be an array of topic selectors, not the string "*"',
      ],
      [
        { subscribe: ['*', 7] },
        'invalid token claims: mercure.subscribe[1] must be a topic selector string, not the number 7',
      ],
      [
        { subscribe: ['urn:a', 'https://example.com/{id'] },
        'invalid token claims: mercure.subscribe[1]: invalid topic selector "https://example.com/{id": not a valid URI template: "{" at character 21 is never closed by "}"',
      ],
    ];
    for (const [mercure, message] of cases) {
      const token = await sign({ mercure }, secret(PUBLISHER_SECRET));
      expect(await outcome(auth.authenticate(bearer(token), 'publisher'))).toEqual({
        status: 401,
        code: 'invalid-claims',
        message,
      });
    }
  });

  it('cookie auth from an origin that is not allowed ("*" does not count for cookies)', async () => {
    const cookie = `mercureAuthorization=${await publisherToken()}`;
    expect(
      await outcome(
        auth.authenticate(request({ cookie, origin: 'https://evil.example' }), 'publisher'),
      ),
    ).toEqual({
      status: 403,
      code: 'origin-not-allowed',
      message:
        'cookie authentication refused: Origin "https://evil.example" is not an allowed origin (CSRF protection); add it to the allowed origins (a "*" entry does not apply to cookies)',
    });
    expect(
      await outcome(
        auth.authenticate(
          request({ cookie, referer: 'https://evil.example/page?x=1' }),
          'subscriber',
        ),
      ),
    ).toMatchObject({
      status: 403,
      code: 'origin-not-allowed',
      message: expect.stringContaining('Referer "https://evil.example" is not an allowed origin'),
    });
    expect(
      await outcome(auth.authenticate(request({ cookie, origin: 'null' }), 'publisher')),
    ).toMatchObject({
      status: 403,
      code: 'origin-not-allowed',
      message: expect.stringContaining('Origin "null" is not an allowed origin'),
    });
  });

  it('cookie auth for a publisher without Origin or Referer', async () => {
    const cookie = `mercureAuthorization=${await publisherToken()}`;
    expect(await outcome(auth.authenticate(request({ cookie }), 'publisher'))).toEqual({
      status: 403,
      code: 'origin-missing',
      message:
        'cookie authentication refused: the request has neither an Origin nor a Referer header to check against the allowed origins (CSRF protection); send the token in an Authorization header instead',
    });
  });

  it('every refusal carries an RFC 6750 WWW-Authenticate value', async () => {
    const errorOf = async (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: AuthError) => error,
      );
    expect((await errorOf(auth.authenticate(request(), 'publisher')))?.wwwAuthenticate).toBe(
      'Bearer realm="mercure"',
    );
    expect((await errorOf(auth.authenticate(bearer('x'), 'publisher')))?.wwwAuthenticate).toMatch(
      /^Bearer realm="mercure", error="invalid_token", error_description="malformed token in the Authorization header: [^"]*"$/,
    );
    expect(
      (await errorOf(auth.authenticate(request({ authorization: 'Basic x' }), 'publisher')))
        ?.wwwAuthenticate,
    ).toMatch(/error="invalid_request"/);
  });
});

describe('Authenticator: cookie auth that passes the CSRF check', () => {
  let auth: Authenticator;
  let cookie: string;
  beforeAll(async () => {
    auth = await Authenticator.create(
      config({ allowedOrigins: ['https://App.Example/', 'http://localhost:5173'] }),
    );
    cookie = `mercureAuthorization=${await sign({ mercure: { publish: ['*'] } }, secret(PUBLISHER_SECRET))}`;
  });

  it('from an allowed origin (normalised), by Origin or by Referer', async () => {
    for (const headers of [
      { origin: 'https://app.example' },
      { origin: 'http://localhost:5173' },
      { referer: 'https://app.example/chat/42?x=1' },
    ]) {
      expect((await auth.authenticate(request({ cookie, ...headers }), 'publisher'))?.source).toBe(
        'cookie',
      );
    }
  });

  it("from the hub's own origin (its dashboard), by Host, whatever the scheme behind a proxy", async () => {
    for (const headers of [
      { origin: 'https://hub.example' },
      { origin: 'http://hub.example' },
      { origin: 'https://hub.example', host: 'hub.example:443' },
      { referer: 'https://hub.example/' },
    ]) {
      expect((await auth.authenticate(request({ cookie, ...headers }), 'publisher'))?.source).toBe(
        'cookie',
      );
    }
    expect(
      await outcome(
        auth.authenticate(request({ cookie, origin: 'https://hub.example:8443' }), 'publisher'),
      ),
    ).toMatchObject({ status: 403, code: 'origin-not-allowed' });
  });

  it('for a subscriber GET without Origin or Referer (nothing to steal, nothing changed)', async () => {
    const subscriberCookie = `mercureAuthorization=${await sign({}, secret(SUBSCRIBER_SECRET))}`;
    expect(
      (await auth.authenticate(request({ cookie: subscriberCookie }), 'subscriber'))?.source,
    ).toBe('cookie');
  });
});

describe('Authenticator: asymmetric keys', () => {
  it('verifies RS256, PS256, ES256 and EdDSA tokens with their public keys, pinned to the key type', async () => {
    const cases: [KeyPair, string][] = [
      [rsa, 'RS256'],
      [rsa, 'PS512'],
      [ec, 'ES256'],
      [ed, 'EdDSA'],
    ];
    for (const [pair, alg] of cases) {
      const auth = await Authenticator.create(
        config({
          publisherKey: { kind: 'public-key', pem: pair.pem },
          subscriberKey: { kind: 'public-key', pem: pair.pem },
        }),
      );
      const token = await sign({ mercure: { publish: ['urn:a'] } }, await signingKey(pair, alg), {
        alg,
      });
      expect((await auth.authenticate(bearer(token), 'publisher'))?.claims.publish).toEqual([
        'urn:a',
      ]);
    }
  });

  it('restricts a key to the configured algorithms', async () => {
    const auth = await Authenticator.create(
      config({ publisherKey: { kind: 'public-key', pem: rsa.pem, algorithms: ['RS256'] } }),
    );
    const ps = await sign({}, await signingKey(rsa, 'PS256'), { alg: 'PS256' });
    expect(await outcome(auth.authenticate(bearer(ps), 'publisher'))).toMatchObject({
      code: 'wrong-algorithm',
      message: expect.stringContaining('accepts only RS256'),
    });
  });

  it('accepts a PKCS#1 RSA public key PEM', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const auth = await Authenticator.create(
      config({ publisherKey: { kind: 'public-key', pem: pkcs1 } }),
    );
    const signingKey = await importPKCS8(
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      'RS256',
    );
    expect(
      await auth.authenticate(bearer(await sign({}, signingKey, { alg: 'RS256' })), 'publisher'),
    ).toBeDefined();
  });
});

const openssl = requireBinary('openssl', 'openssl');

describe.skipIf(!openssl)('Authenticator: a key from an X.509 certificate', () => {
  it('verifies with the public key of a certificate PEM', async () => {
    const dir = await mkdtemp(join(tmp, 'cert-'));
    execFileSync(
      openssl!,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=tidings-test',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const certificate = await readFile(join(dir, 'cert.pem'), 'utf8');
    const auth = await Authenticator.create(
      config({ publisherKey: { kind: 'public-key', pem: certificate } }),
    );
    const privateKey = await importPKCS8(await readFile(join(dir, 'key.pem'), 'utf8'), 'ES256');
    const token = await sign({ mercure: { publish: ['*'] } }, privateKey, { alg: 'ES256' });
    expect((await auth.authenticate(bearer(token), 'publisher'))?.claims.publish).toEqual(['*']);
    expect(
      await outcome(
        auth.authenticate(bearer(await sign({}, ec.privateKey, { alg: 'ES256' })), 'publisher'),
      ),
    ).toMatchObject({ status: 401, code: 'bad-signature' });
  });
});

describe('Authenticator: JWKS', () => {
  let jwks: { keys: Record<string, unknown>[] };
  beforeAll(async () => {
    jwks = {
      keys: [
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256' },
        { ...(await exportJWK(otherRsa.publicKey)), kid: 'rsa-2' },
      ],
    };
  });

  it('from a file: finds the key by kid; an unknown kid is named', async () => {
    const file = join(tmp, 'jwks.json');
    await writeFile(file, JSON.stringify(jwks));
    const auth = await Authenticator.create(config({ publisherKey: { kind: 'jwks', file } }));
    const token = await sign({ mercure: { publish: ['*'] } }, ec.privateKey, {
      alg: 'ES256',
      kid: 'ec-1',
    });
    expect((await auth.authenticate(bearer(token), 'publisher'))?.claims.publish).toEqual(['*']);
    const unknown = await sign({}, ec.privateKey, { alg: 'ES256', kid: 'ec-9' });
    expect(await outcome(auth.authenticate(bearer(unknown), 'publisher'))).toEqual({
      status: 401,
      code: 'unknown-key',
      message: `unknown key: no key of the publisher key matches the token in the Authorization header ("kid" "ec-9", "alg" ES256)`,
    });
  });

  it('without a kid, tries every key that fits the algorithm', async () => {
    const file = join(tmp, 'jwks-nokid.json');
    const bare = { keys: [await exportJWK(rsa.publicKey), await exportJWK(otherRsa.publicKey)] };
    await writeFile(file, JSON.stringify(bare));
    const auth = await Authenticator.create(config({ publisherKey: { kind: 'jwks', file } }));
    // Both RSA keys fit a PS256 token without "kid": the second one signed it.
    const token = await sign({}, await signingKey(otherRsa, 'PS256'), { alg: 'PS256' });
    expect(await auth.authenticate(bearer(token), 'publisher')).toBeDefined();
    const foreign = await sign({}, (await keyPair('PS256')).privateKey, { alg: 'PS256' });
    expect(await outcome(auth.authenticate(bearer(foreign), 'publisher'))).toMatchObject({
      status: 401,
      code: 'bad-signature',
    });
  });

  it('never accepts HS tokens, even "signed" with a JWKS member', async () => {
    const file = join(tmp, 'jwks-hs.json');
    await writeFile(file, JSON.stringify(jwks));
    const auth = await Authenticator.create(config({ publisherKey: { kind: 'jwks', file } }));
    const token = await sign({}, secret(JSON.stringify(jwks.keys[0])), {
      alg: 'HS256',
      kid: 'rsa-1',
    });
    expect(await outcome(auth.authenticate(bearer(token), 'publisher'))).toMatchObject({
      status: 401,
      code: 'wrong-algorithm',
    });
  });

  describe('from a URL', () => {
    let server: Server;
    let url: string;
    let fetches = 0;
    beforeAll(async () => {
      server = createServer((req, res) => {
        fetches++;
        if (req.url !== '/jwks.json') {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('fetches once at start and verifies with it', async () => {
      fetches = 0;
      const auth = await Authenticator.create(
        config({ publisherKey: { kind: 'jwks', url: `${url}/jwks.json` } }),
      );
      expect(fetches).toBe(1);
      const token = await sign({}, rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });
      for (let i = 0; i < 3; i++)
        expect(await auth.authenticate(bearer(token), 'publisher')).toBeDefined();
      expect(fetches).toBe(1);
    });

    it('refuses to start when the URL does not serve a JWKS', async () => {
      await expect(
        Authenticator.create(
          config({ publisherKey: { kind: 'jwks', url: `${url}/missing.json` } }),
        ),
      ).rejects.toThrow(
        /^cannot load the publisher JWKS from http:\/\/127\.0\.0\.1:\d+\/missing\.json: /,
      );
    });
  });
});

describe('Authenticator.create: configurations that cannot work', () => {
  const fails = async (overrides: Partial<AuthConfig>, message: string | RegExp) => {
    const error = await Authenticator.create(config(overrides)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthConfigError);
    if (typeof message === 'string') expect((error as Error).message).toBe(message);
    else expect((error as Error).message).toMatch(message);
  };

  it('a secret shorter than the hash (RFC 7518 §3.2)', async () => {
    await fails(
      { publisherKey: { kind: 'secret', secret: 'too-short' } },
      'the publisher secret is 9 bytes; HS256 needs at least 32 (RFC 7518 §3.2)',
    );
    await fails(
      { subscriberKey: { kind: 'secret', secret: SUBSCRIBER_SECRET, algorithms: ['HS512'] } },
      'the subscriber secret is 38 bytes; HS512 needs at least 64 (RFC 7518 §3.2)',
    );
    await fails({ publisherKey: { kind: 'secret', secret: '' } }, 'the publisher secret is empty');
  });

  it('a private key, a weak RSA key, garbage, a mismatched algorithm', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await fails(
      {
        publisherKey: {
          kind: 'public-key',
          pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        },
      },
      'the publisher key is a private key; the hub needs only the public key (openssl pkey -in key.pem -pubout)',
    );
    await fails(
      {
        publisherKey: {
          kind: 'public-key',
          pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        },
      },
      'the publisher key is a 1024-bit RSA key; RS/PS algorithms need at least 2048 bits',
    );
    await fails(
      { subscriberKey: { kind: 'public-key', pem: 'hello' } },
      /^the subscriber key is not a PEM public key or certificate: /,
    );
    await fails(
      { publisherKey: { kind: 'public-key', pem: ec.pem, algorithms: ['RS256'] } },
      'the publisher key is an EC prime256v1 public key; RS256 does not fit it (it fits ES256)',
    );
  });

  it('a JWKS without a source, with both, unreadable, or holding private keys', async () => {
    await fails(
      { publisherKey: { kind: 'jwks' } },
      'the publisher JWKS needs exactly one of a url or a file',
    );
    await fails(
      { publisherKey: { kind: 'jwks', url: 'https://x', file: '/x' } },
      'the publisher JWKS needs exactly one of a url or a file',
    );
    await fails(
      { publisherKey: { kind: 'jwks', file: join(tmp, 'nope.json') } },
      /^cannot read the publisher JWKS file .*nope\.json: ENOENT/,
    );
    const file = join(tmp, 'private.json');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    await writeFile(file, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    await fails(
      { publisherKey: { kind: 'jwks', file } },
      `the publisher JWKS file ${file} holds a secret or private key at keys[0]; a verification JWKS must hold public keys only`,
    );
    await fails(
      { publisherKey: { kind: 'jwks', url: 'ftp://x/jwks' } },
      'the publisher JWKS url must be http(s), not ftp:',
    );
  });

  it('an allowed origin that is not an origin', async () => {
    await fails(
      { allowedOrigins: ['https://app.example/path'] },
      'allowed origin "https://app.example/path" is not an origin such as https://example.com',
    );
    await fails(
      { allowedOrigins: ['app.example'] },
      /^allowed origin "app\.example" is not an origin/,
    );
  });

  it('an unknown key kind', async () => {
    await fails(
      { publisherKey: { kind: 'password' } as unknown as KeyConfig },
      'the publisher key has an unknown kind "password"; use "secret", "public-key" or "jwks"',
    );
  });
});

describe('checkPublish', () => {
  const principal = (publish?: string[]): Principal => ({
    claims: publish === undefined ? {} : { publish },
  });

  it('refuses a token without mercure.publish, or with an empty one', () => {
    expect(checkPublish(principal(), ['urn:a'])).toEqual({
      ok: false,
      reason: 'the token has no mercure.publish claim, so it may not publish',
    });
    expect(checkPublish(principal([]), ['urn:a'])).toEqual({
      ok: false,
      reason: 'the mercure.publish claim of the token is empty, so it may not publish',
    });
  });

  it('needs every topic (canonical and alternates) to match, and names the first that does not', () => {
    const books = principal(['https://example.com/books/{id}', 'urn:news']);
    expect(checkPublish(books, ['https://example.com/books/1', 'urn:news'])).toEqual({ ok: true });
    expect(checkPublish(books, ['https://example.com/books/1', 'urn:sport', 'urn:x'])).toEqual({
      ok: false,
      reason:
        'not allowed to publish to topic "urn:sport": it matches none of the token\'s mercure.publish selectors ("https://example.com/books/{id}", "urn:news")',
    });
  });

  it('allows everything with "*"', () => {
    expect(checkPublish(principal(['*']), ['anything', 'https://x/y'])).toEqual({ ok: true });
  });

  it('keeps a long selector list short in the reason', () => {
    const many = principal(Array.from({ length: 9 }, (_, i) => `urn:${i}`));
    const result = checkPublish(many, ['urn:x']);
    expect(result.ok).toBe(false);
    expect((result as { reason: string }).reason).toMatch(/"urn:4" and 4 more\)$/);
  });
});

describe('mintToken', () => {
  it('mints a token the authenticator accepts, with the claims and expiry asked for', async () => {
    const auth = await Authenticator.create(config());
    const token = await mintToken({
      secret: PUBLISHER_SECRET,
      publish: ['https://example.com/{id}'],
      subscribe: ['*'],
      payload: { user: 'ada' },
      expiresIn: 60,
    });
    const principal = await auth.authenticate(bearer(token), 'publisher');
    expect(principal?.claims).toEqual({
      publish: ['https://example.com/{id}'],
      subscribe: ['*'],
      payload: { user: 'ada' },
    });
    const expected = Date.now() + 60_000;
    expect(principal?.expiresAt).toBeGreaterThan(expected - 3000);
    expect(principal?.expiresAt).toBeLessThanOrEqual(expected + 1000);
  });

  it('understands spans such as "2h" and mints no exp without expiresIn', async () => {
    const auth = await Authenticator.create(config());
    const hours = await auth.authenticate(
      bearer(await mintToken({ secret: PUBLISHER_SECRET, publish: ['*'], expiresIn: '2h' })),
      'publisher',
    );
    expect(hours?.expiresAt).toBeGreaterThan(Date.now() + 7_100_000);
    const forever = await auth.authenticate(
      bearer(await mintToken({ secret: PUBLISHER_SECRET })),
      'publisher',
    );
    expect(forever?.expiresAt).toBeUndefined();
    expect(forever?.claims).toEqual({});
  });

  it('refuses a secret too short for the algorithm', async () => {
    await expect(mintToken({ secret: 'short' })).rejects.toThrow(
      'the secret is 5 bytes; HS256 needs at least 32 (RFC 7518 §3.2)',
    );
  });
});
