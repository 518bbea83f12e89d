import type { IncomingHttpHeaders } from 'node:http';

/**
 * Cross-origin access for browsers on other origins (an app on https://app.example using a
 * hub on https://hub.example), with credentials so the `mercureAuthorization` cookie is
 * sent.
 *
 * Only origins listed in configuration get `Access-Control-Allow-Credentials`: a
 * credentialed response may not use `*`, and echoing any origin back would let every site
 * on the web read a user's private updates with the user's cookie. `*` in the list allows
 * any origin without credentials (tokens in the `Authorization` header still work).
 */
export class CorsPolicy {
  readonly #origins: ReadonlySet<string>;
  readonly #anyOrigin: boolean;

  constructor(origins: readonly string[]) {
    this.#anyOrigin = origins.includes('*');
    this.#origins = new Set(origins.filter((origin) => origin !== '*').map(normalizeOrigin));
  }

  /** Response headers for a request (empty when it carries no allowed `Origin`). */
  headersFor(requestHeaders: IncomingHttpHeaders): Record<string, string> {
    const origin = requestHeaders.origin;
    if (origin === undefined) return {};
    if (this.#origins.has(normalizeOrigin(origin))) {
      return {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        // The answer depends on Origin: caches must not hand it to another origin.
        Vary: 'Origin',
        // Lets fetch-based clients compare it with the id they asked for (data loss check).
        'Access-Control-Expose-Headers': 'Last-Event-ID, Mercure-Last-Event-ID, Link',
      };
    }
    if (this.#anyOrigin) {
      return {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Expose-Headers': 'Last-Event-ID, Mercure-Last-Event-ID, Link',
      };
    }
    return {};
  }

  /** The answer to a preflight `OPTIONS`: the headers above plus what may be sent. */
  preflightHeaders(requestHeaders: IncomingHttpHeaders): Record<string, string> {
    const headers = this.headersFor(requestHeaders);
    if (headers['Access-Control-Allow-Origin'] === undefined) return headers;
    return {
      ...headers,
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, Last-Event-ID, Cache-Control',
      'Access-Control-Max-Age': '600',
    };
  }
}

function normalizeOrigin(origin: string): string {
  return origin.replace(/\/+$/, '').toLowerCase();
}
