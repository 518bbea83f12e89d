import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { AuthError } from '../auth/auth-error.js';
import type { Authenticator, Principal } from '../auth/authenticator.js';
import { claimSelectors } from '../auth/claims.js';
import type { KeyRole } from '../auth/keys.js';
import { describeMatcher } from '../topic-matcher.js';

/** What the hub would do with a token in one role. */
export interface RoleVerdict {
  accepted: boolean;
  /** One sentence: the hub's own refusal message, or what the token allows. */
  reason: string;
}

export interface TokenReport {
  /** False when the text is not a compact JWS at all; `reason` says why. */
  decoded: boolean;
  reason?: string;
  header?: Record<string, unknown>;
  payload?: JWTPayload;
  alg?: string;
  /** `exp` as an ISO date, null when the token never expires. */
  expiresAt?: string | null;
  expired?: boolean;
  publisher?: RoleVerdict;
  subscriber?: RoleVerdict;
}

/**
 * Decodes any token and says what the hub would make of it, role by role, using the hub's own
 * verification (keys, algorithms, expiry, claims): the refusal a client would get as a bare
 * 401, with its reason. The decoded contents are shown even when the signature is wrong —
 * they are the token's own claims, not anything the hub vouches for.
 */
export async function reportToken(
  token: string,
  auth: Authenticator,
  hubUrl: string,
  now = Date.now(),
): Promise<TokenReport> {
  const trimmed = token.trim().replace(/^Bearer\s+/i, '');
  let header: Record<string, unknown>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(trimmed) as Record<string, unknown>;
    payload = decodeJwt(trimmed);
  } catch (error) {
    return {
      decoded: false,
      reason: `not a JWT: ${error instanceof Error ? error.message : 'it cannot be decoded'} (a JWT is three base64url parts joined by dots)`,
    };
  }
  const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  return {
    decoded: true,
    header,
    payload,
    alg: typeof header.alg === 'string' ? header.alg : '(none)',
    expiresAt: exp === undefined ? null : new Date(exp).toISOString(),
    expired: exp !== undefined && exp <= now,
    publisher: await verdict(trimmed, auth, 'publisher', hubUrl),
    subscriber: await verdict(trimmed, auth, 'subscriber', hubUrl),
  };
}

async function verdict(
  token: string,
  auth: Authenticator,
  role: KeyRole,
  hubUrl: string,
): Promise<RoleVerdict> {
  let principal: Principal;
  try {
    principal = await auth.verify(token, role, 'header', hubUrl);
  } catch (error) {
    if (error instanceof AuthError) return { accepted: false, reason: error.message };
    throw error;
  }
  const selectors = role === 'publisher' ? principal.claims.publish : principal.claims.subscribe;
  const claim =
    principal.draft === '08'
      ? 'authorization_details'
      : `mercure.${role === 'publisher' ? 'publish' : 'subscribe'}`;
  if (selectors === undefined || selectors.length === 0) {
    return {
      accepted: true,
      reason:
        role === 'publisher'
          ? `signature and claims are valid, but there is no ${claim}: every publish would be refused with 403`
          : `signature and claims are valid; without ${claim} the bearer receives public updates only`,
    };
  }
  const all = claimSelectors(selectors).matchesAll;
  const scope = all
    ? 'every topic (*)'
    : `topics matching ${selectors.map((s) => JSON.stringify(describeMatcher(s).match)).join(', ')}`;
  return {
    accepted: true,
    reason:
      role === 'publisher'
        ? `valid: may publish to ${scope}`
        : `valid: receives public updates, and private ones on ${scope}`,
  };
}
