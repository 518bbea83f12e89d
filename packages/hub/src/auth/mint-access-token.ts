import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { AuthConfigError } from './auth-error.js';
import { MERCURE_AUTHORIZATION_DETAIL } from './authorization-details.js';
import { HMAC_MIN_BYTES, type HmacAlgorithm } from './keys.js';

/** A topic matcher of a draft-08 grant: a bare string is an exact matcher (or `*`). */
export type GrantMatcher = string | { match: string; match_type?: 'exact' | 'urlpattern' };

export interface MintAccessTokenOptions {
  secret: string;
  /** Default HS256. */
  algorithm?: HmacAlgorithm;
  /** `iss`: the issuer the hub trusts (`--jwt-issuer`). */
  issuer: string;
  /** `aud`: the hub's resource identifier, e.g. `https://hub.example.com/.well-known/mercure`. */
  audience: string | string[];
  /** Topics the bearer may publish to. */
  publish?: GrantMatcher[];
  /** Topics whose private updates the bearer may receive. */
  subscribe?: GrantMatcher[];
  /** `payload` of the subscribe grant: shown in subscription events. */
  payload?: Record<string, unknown>;
  /** Seconds from now, or a span such as "15m", "1h". Default 1 hour: access tokens expire. */
  expiresIn?: string | number;
  /** `sub`; default a random `urn:uuid:`. */
  subject?: string;
  /** `client_id`; default the issuer. */
  clientId?: string;
}

/**
 * Signs a draft-08 access token (RFC 9068: `typ: at+jwt`, `iss`, `aud`, `exp`, `sub`,
 * `client_id`, `iat`, `jti`) whose grants are RFC 9396 `authorization_details` of type
 * `https://mercure.rocks/authorization-detail`: for the CLI, tests and development.
 */
export async function mintAccessToken(options: MintAccessTokenOptions): Promise<string> {
  const algorithm = options.algorithm ?? 'HS256';
  const secret = new TextEncoder().encode(options.secret);
  if (!(algorithm in HMAC_MIN_BYTES)) {
    throw new AuthConfigError(`mintAccessToken signs with HS256, HS384 or HS512, not ${algorithm}`);
  }
  if (secret.byteLength < HMAC_MIN_BYTES[algorithm]) {
    throw new AuthConfigError(
      `the secret is ${secret.byteLength} bytes; ${algorithm} needs at least ${HMAC_MIN_BYTES[algorithm]} (RFC 7518 §3.2)`,
    );
  }
  const topics = (matchers: GrantMatcher[]) =>
    matchers.map((matcher) => (typeof matcher === 'string' ? { match: matcher } : matcher));
  const details: Record<string, unknown>[] = [];
  if (options.publish !== undefined && options.publish.length > 0) {
    details.push({
      type: MERCURE_AUTHORIZATION_DETAIL,
      actions: ['publish'],
      topics: topics(options.publish),
    });
  }
  if (options.subscribe !== undefined && options.subscribe.length > 0) {
    details.push({
      type: MERCURE_AUTHORIZATION_DETAIL,
      actions: ['subscribe'],
      topics: topics(options.subscribe),
      ...(options.payload === undefined ? {} : { payload: options.payload }),
    });
  }
  const expiresIn = options.expiresIn ?? 3600;
  return new SignJWT({
    client_id: options.clientId ?? options.issuer,
    authorization_details: details,
  })
    .setProtectedHeader({ alg: algorithm, typ: 'at+jwt' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject ?? `urn:uuid:${randomUUID()}`)
    .setJti(`urn:uuid:${randomUUID()}`)
    .setIssuedAt()
    .setExpirationTime(
      typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn,
    )
    .sign(secret);
}
