import type { IncomingHttpHeaders } from 'node:http';
import { AuthError } from './auth-error.js';

/** The parts of a request the authenticator reads. */
export interface AuthRequest {
  headers: IncomingHttpHeaders;
  /** The request target; only its query is read (the `authorization` parameter). */
  url: URL;
  /**
   * The draft the request speaks, when its parameters say (subscriptions): a draft-08
   * request takes no token from the query and reads the draft-08 cookie, and needs a draft-08
   * access token. Undefined (publishing): every source, both token shapes.
   */
  draft?: '07' | '08';
  /** The hub's URL for this request: the audience of access tokens, the base of their URL patterns. */
  hubUrl?: string;
}

/**
 * Draft-08: "It is RECOMMENDED to name the cookie `__Secure-mercure_access_token`".
 */
export const DRAFT_08_COOKIE = '__Secure-mercure_access_token';

export type TokenSource = 'header' | 'query' | 'cookie';

export interface FoundToken {
  token: string;
  source: TokenSource;
}

/** How each source is named in messages. */
export const SOURCE_NAMES: Record<TokenSource, string> = {
  header: 'the Authorization header',
  query: 'the authorization query parameter',
  cookie: 'the cookie',
};

/**
 * Draft-07, "Authorization": "If an `Authorization` HTTP header is presented by the client,
 * the JWS it contains MUST be used. The content of the `authorization` query parameter and of
 * the cookie MUST be ignored. If an `authorization` query parameter is set by the client and
 * no `Authorization` HTTP header is presented, the content of the query parameter MUST be
 * used, the content of the cookie must be ignored."
 */
export function findToken(
  request: AuthRequest,
  names: { queryParam: string | undefined; cookieName: string; cookieName08?: string },
): FoundToken | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return { token: bearerToken(header), source: 'header' };
  // Draft-08: "The `access_token` URI query parameter [...] is not part of this
  // specification: the OAuth 2.0 Security Best Current Practice [RFC 9700] forbids clients
  // from passing access tokens in the URI query string" — nor is draft-07's `authorization`.
  const query =
    names.queryParam === undefined ? null : request.url.searchParams.get(names.queryParam);
  if (query !== null) {
    if (query.trim() === '') {
      throw new AuthError(
        401,
        'malformed-token',
        `malformed token: the ${names.queryParam} query parameter is empty`,
      );
    }
    return { token: query.trim(), source: 'query' };
  }
  for (const name of [names.cookieName08, names.cookieName]) {
    if (name === undefined) continue;
    const cookie = readCookie(request.headers.cookie, name);
    if (cookie !== undefined && cookie !== '') return { token: cookie, source: 'cookie' };
  }
  return undefined;
}

/** RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token`; the scheme is case-insensitive (RFC 9110 §11.1). */
function bearerToken(header: string): string {
  const match = /^\s*(\S*)(?:\s+(.*?))?\s*$/.exec(header);
  const scheme = match?.[1] ?? '';
  const token = match?.[2] ?? '';
  if (scheme.toLowerCase() !== 'bearer') {
    const got =
      scheme === '' ? 'an empty header' : `a ${JSON.stringify(scheme.slice(0, 20))} credential`;
    throw new AuthError(
      401,
      'malformed-authorization-header',
      `malformed Authorization header: expected "Bearer <token>", got ${got}`,
    );
  }
  if (token === '' || /\s/.test(token)) {
    throw new AuthError(
      401,
      'malformed-authorization-header',
      `malformed Authorization header: "Bearer" must be followed by exactly one token`,
    );
  }
  return token;
}

/** The first cookie of that name (RFC 6265 §5.4 sends the most specific path first). */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1 || pair.slice(0, equals).trim() !== name) continue;
    let value = pair.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    return value;
  }
  return undefined;
}
