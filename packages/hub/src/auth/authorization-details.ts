import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { type MatcherType, matcherSelector } from '../topic-matcher.js';
import { SelectorSet, TopicSelectorError } from '../topic-selector.js';
import { AuthError } from './auth-error.js';
import type { MercureClaims } from './claims.js';

/**
 * "This specification defines the authorization detail type identified by the URI
 * `https://mercure.rocks/authorization-detail`" (draft-08, RFC 9396 `authorization_details`).
 */
export const MERCURE_AUTHORIZATION_DETAIL = 'https://mercure.rocks/authorization-detail';

/** Bounds on what one token may carry: "Tokens exceeding any such limit MUST be rejected". */
export const MAX_AUTHORIZATION_DETAILS = 100;
export const MAX_TOPICS_PER_DETAIL = 100;

/** What draft-08 token checks need from the hub's configuration and the request. */
export interface AccessTokenContext {
  /** `--jwt-issuer`: when set, `iss` must equal it. */
  issuer: string | undefined;
  /** The resource identifier that `aud` must hold: `--jwt-audience`, else the hub's URL. */
  audience: string;
  /** Base of relative URL patterns in the token. */
  hubUrl: string;
}

/**
 * Whether a verified token is an RFC 9068 access token (draft-08) rather than a draft-07
 * token with a `mercure` claim: it says so in its header (`typ: at+jwt`) or carries
 * `authorization_details`. Such a token is then held to every draft-08 rule.
 */
export function isAccessToken(header: ProtectedHeaderParameters, payload: JWTPayload): boolean {
  return isAtJwt(header.typ) || payload.authorization_details !== undefined;
}

/**
 * "Hubs MUST verify that the token header `typ` is `at+jwt`, or the equivalent
 * `application/at+jwt`, compared with the `application/` prefix omitted and
 * case-insensitively."
 */
function isAtJwt(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return lower === 'at+jwt' || lower === 'application/at+jwt';
}

/**
 * Checks an access token's draft-08 claims (`typ`, `exp`, `iss`, `aud`) and turns its Mercure
 * authorization details into the hub's claims: selector strings per action. "If any Mercure
 * authorization detail fails to parse or validate [...] the hub MUST reject the token [...]
 * and MUST NOT act on the basis of the remaining entries."
 *
 * @throws AuthError 401 (`invalid_token`) with the reason.
 */
export function readAccessToken(
  header: ProtectedHeaderParameters,
  payload: JWTPayload,
  context: AccessTokenContext,
): MercureClaims {
  if (!isAtJwt(header.typ)) {
    throw invalid(
      `an access token with authorization_details must have the header "typ": "at+jwt" (RFC 9068), not ${JSON.stringify(header.typ ?? null)}`,
    );
  }
  // "Hubs MUST enforce the `exp` claim [...] and MUST reject a token that has no `exp` claim."
  if (typeof payload.exp !== 'number') {
    throw invalid('the access token has no "exp" claim; RFC 9068 tokens must expire');
  }
  // "Hubs MUST verify that the `iss` claim is present and exactly matches the issuer
  // identifier of one of the hub's trusted issuers."
  if (typeof payload.iss !== 'string' || payload.iss === '') {
    throw invalid('the access token has no "iss" claim');
  }
  if (context.issuer !== undefined && payload.iss !== context.issuer) {
    throw invalid(
      `the access token's issuer ${JSON.stringify(payload.iss).slice(0, 100)} is not the trusted issuer ${JSON.stringify(context.issuer)}`,
    );
  }
  // "the resource identifier matches when it equals that string or is a member of that array."
  const aud = payload.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(context.audience)) {
    throw invalid(
      `the access token's "aud" (${JSON.stringify(aud ?? null).slice(0, 120)}) does not name this hub: expected ${JSON.stringify(context.audience)}`,
    );
  }
  return readAuthorizationDetails(payload.authorization_details, context.hubUrl);
}

function readAuthorizationDetails(value: unknown, hubUrl: string): MercureClaims {
  if (value === undefined) return { publish: [], subscribe: [] };
  if (!Array.isArray(value)) throw invalid('"authorization_details" must be an array');
  const publish: string[] = [];
  const subscribe: string[] = [];
  let payload: unknown;
  let mercureDetails = 0;
  for (const [index, detail] of value.entries()) {
    const where = `authorization_details[${index}]`;
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      throw invalid(`${where} must be an object`);
    }
    const record = detail as Record<string, unknown>;
    // RFC 9396: other types belong to other resource servers; they grant nothing here.
    if (record.type !== MERCURE_AUTHORIZATION_DETAIL) continue;
    if (++mercureDetails > MAX_AUTHORIZATION_DETAILS) {
      throw invalid(`more than ${MAX_AUTHORIZATION_DETAILS} Mercure authorization details`);
    }
    const actions = record.actions;
    if (!Array.isArray(actions) || actions.length === 0) {
      throw invalid(`${where}.actions must be a non-empty array such as ["subscribe"]`);
    }
    // "Hubs MUST ignore action values they do not recognize [...] A non-string entry in
    // `actions` remains a validation failure."
    if (!actions.every((action) => typeof action === 'string')) {
      throw invalid(`${where}.actions must hold strings only`);
    }
    const selectors = readTopics(record.topics, `${where}.topics`, hubUrl);
    if (record.payload !== undefined) {
      if (
        typeof record.payload !== 'object' ||
        record.payload === null ||
        Array.isArray(record.payload)
      ) {
        throw invalid(`${where}.payload must be a JSON object`);
      }
    }
    if (actions.includes('publish')) publish.push(...selectors);
    if (actions.includes('subscribe')) {
      subscribe.push(...selectors);
      payload ??= record.payload;
    }
  }
  const claims: MercureClaims = { publish, subscribe };
  if (payload !== undefined) claims.payload = payload;
  return claims;
}

function readTopics(value: unknown, where: string, hubUrl: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid(`${where} must be a non-empty array of {"match": ..., "match_type"?: ...}`);
  }
  if (value.length > MAX_TOPICS_PER_DETAIL) {
    throw invalid(`${where} has more than ${MAX_TOPICS_PER_DETAIL} entries`);
  }
  return value.map((entry, index) => {
    const at = `${where}[${index}]`;
    // "(bare strings are rejected)"
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw invalid(`${at} must be an object like {"match": "https://example.com/books/1"}`);
    }
    const { match, match_type: matchType = 'exact' } = entry as Record<string, unknown>;
    if (typeof match !== 'string' || match === '')
      throw invalid(`${at}.match must be a non-empty string`);
    // "`match_type` is case-sensitive [...] a `match_type` the hub does not support MUST
    // cause the token to be rejected."
    if (matchType !== 'exact' && matchType !== 'urlpattern') {
      throw invalid(
        `${at}.match_type must be "exact" or "urlpattern", not ${JSON.stringify(matchType)}`,
      );
    }
    if (/[\u0000-\u001f\u007f-\u009f]/.test(match)) {
      throw invalid(`${at}.match contains a control character`);
    }
    const selector = matcherSelector(matchType as MatcherType, match, hubUrl);
    try {
      new SelectorSet([selector]);
    } catch (error) {
      if (error instanceof TopicSelectorError) throw invalid(`${at}: ${error.message}`);
      throw error;
    }
    return selector;
  });
}

function invalid(reason: string): AuthError {
  return new AuthError(401, 'invalid-claims', `invalid access token: ${reason}`);
}
