import type { IncomingHttpHeaders } from 'node:http';
import { AuthConfigError, AuthError } from './auth-error.js';

/**
 * The origins a browser page may use the hub from — for CORS, and for the CSRF check that
 * guards cookie authentication. Entries are normalised (`https://Example.com/` becomes
 * `https://example.com`); `*` means any origin, but never for cookies: a wildcard would let
 * every site on the web act with a visitor's cookie.
 */
export class AllowedOrigins {
  readonly #origins: ReadonlySet<string>;
  /** `*` was configured: any origin for CORS without credentials. */
  readonly any: boolean;

  constructor(origins: readonly string[]) {
    const normalised = new Set<string>();
    let any = false;
    for (const origin of origins) {
      if (origin === '*') {
        any = true;
        continue;
      }
      const parsed = parseOrigin(origin);
      if (parsed === undefined) {
        throw new AuthConfigError(
          `allowed origin ${JSON.stringify(origin)} is not an origin such as https://example.com`,
        );
      }
      normalised.add(parsed);
    }
    this.#origins = normalised;
    this.any = any;
  }

  /** The configured origins, normalised, with `*` last when configured. */
  get list(): string[] {
    return [...this.#origins, ...(this.any ? ['*'] : [])];
  }

  /** True when `origin` was configured by name (`*` does not count). */
  has(origin: string): boolean {
    return this.#origins.has(origin);
  }

  /** For CORS: an origin a response may name in `Access-Control-Allow-Origin`. */
  allows(origin: string): boolean {
    return this.any || this.#origins.has(origin);
  }

  /**
   * The CSRF check for cookie authentication. A browser sends the cookie with any request to
   * the hub, including ones a hostile page makes, so the request must come from an allowed
   * origin or the hub's own: its `Origin` header, else the origin of its `Referer`.
   *
   * A publisher (POST) without either header is refused: browsers send `Origin` with every
   * POST, so its absence means the request cannot be vouched for. A subscriber (GET) without
   * either is let through: a GET changes nothing, and a hostile page can only start one
   * without reading the answer (a cross-origin `EventSource` sends `Origin`, and is checked).
   */
  checkCookieRequest(headers: IncomingHttpHeaders, role: 'publisher' | 'subscriber'): void {
    const claimed = requestOrigin(headers);
    if (claimed === undefined) {
      if (role === 'subscriber') return;
      throw new AuthError(
        403,
        'origin-missing',
        'cookie authentication refused: the request has neither an Origin nor a Referer header to check against the allowed origins (CSRF protection); send the token in an Authorization header instead',
      );
    }
    const { origin, header, shown } = claimed;
    if (origin !== undefined && (this.#origins.has(origin) || isSameHost(origin, headers))) return;
    throw new AuthError(
      403,
      'origin-not-allowed',
      `cookie authentication refused: ${header} ${JSON.stringify(shown.slice(0, 200))} is not an allowed origin (CSRF protection); add it to the allowed origins${this.any ? ' (a "*" entry does not apply to cookies)' : ''}`,
    );
  }
}

/** `scheme://host[:port]` of a URL, lower-cased, default port dropped; undefined when not a web origin. */
function parseOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      return undefined;
    }
    if (url.pathname !== '/' && url.pathname !== '') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * The origin the request claims: `Origin`, else the origin of `Referer` (only the origin is
 * ever repeated in a message, never the path and query of the page the user was on).
 */
function requestOrigin(
  headers: IncomingHttpHeaders,
): { origin: string | undefined; header: 'Origin' | 'Referer'; shown: string } | undefined {
  const origin = headers.origin;
  if (origin !== undefined && origin !== '') {
    // "null" (an opaque origin: sandboxed frame, data: URL, some redirects) is never allowed.
    return {
      origin: origin === 'null' ? undefined : parseOrigin(origin),
      header: 'Origin',
      shown: origin,
    };
  }
  const referer = headers.referer;
  if (referer !== undefined && referer !== '') {
    let origin: string | undefined;
    try {
      origin = parseOrigin(new URL(referer).origin);
    } catch {
      origin = undefined;
    }
    return { origin, header: 'Referer', shown: origin ?? 'that is not a web URL' };
  }
  return undefined;
}

/**
 * A page served by the hub itself (its dashboard) is same-origin: its host is the request's
 * `Host` (or HTTP/2 `:authority`). A hostile page cannot make a victim's browser send another
 * site's origin with the hub's host, so comparing hosts is enough; the scheme may differ behind
 * a TLS-terminating proxy.
 */
function isSameHost(origin: string, headers: IncomingHttpHeaders): boolean {
  const host = (headers[':authority'] as string | undefined) ?? headers.host;
  if (host === undefined || host === '') return false;
  const claimed = new URL(origin);
  try {
    // Parsed with the origin's scheme, so "example.com:443" equals "https://example.com".
    return new URL(`${claimed.protocol}//${host}`).host === claimed.host;
  } catch {
    return false;
  }
}
