import type { HubRequest } from './hub-request.js';

/** The parts of a request target the routes use. */
export interface RequestTarget {
  /** The path, still percent-encoded (the subscriptions API splits it before decoding). */
  readonly path: string;
  /** The raw query string without `?` (`''` when there is none). */
  readonly query: string;
  /** The whole target as a URL, for the authenticator (the `authorization` query parameter). */
  readonly url: URL;
}

/**
 * Splits `request.url`. Absolute-form targets (`GET http://host/path`, as sent to proxies)
 * are accepted too; the origin is irrelevant to routing.
 */
export function requestTarget(request: HubRequest): RequestTarget {
  const raw = request.url ?? '/';
  let pathAndQuery = raw;
  if (!raw.startsWith('/')) {
    try {
      const absolute = new URL(raw);
      pathAndQuery = absolute.pathname + absolute.search;
    } catch {
      pathAndQuery = '/';
    }
  }
  const hash = pathAndQuery.indexOf('#');
  if (hash !== -1) pathAndQuery = pathAndQuery.slice(0, hash);
  const question = pathAndQuery.indexOf('?');
  const path = question === -1 ? pathAndQuery : pathAndQuery.slice(0, question);
  const query = question === -1 ? '' : pathAndQuery.slice(question + 1);
  return { path, query, url: new URL(pathAndQuery, 'http://hub.invalid') };
}
