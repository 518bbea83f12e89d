import type { ResolvedHubOptions } from '../hub-options.js';
import { HUB_PATH } from '../protocol/draft-07.js';
import { HttpError } from './http-error.js';
import type { HubRequest } from './hub-request.js';

/**
 * The hub's URL for a request: the configured `publicUrl`, else derived from the request as
 * Mercure 1.0 does ("The hub derives its public URL [...] from each request, so a hub
 * reachable through several public URLs works with no domain configuration"). Draft-08 uses
 * it as the base of relative URL patterns and as the audience of access tokens.
 */
export function hubUrlOf(request: HubRequest, options: ResolvedHubOptions): string {
  if (options.publicUrl !== undefined) return options.publicUrl;
  const forwarded = options.trustProxy ? request.headers['x-forwarded-proto'] : undefined;
  const proto =
    typeof forwarded === 'string' && /^https?$/i.test(forwarded.split(',')[0]!.trim())
      ? forwarded.split(',')[0]!.trim().toLowerCase()
      : requestScheme(request);
  const host = requestHost(request);
  // A Host that is not a host[:port] cannot name this hub; fall back to a placeholder origin.
  const origin =
    host !== undefined && /^[A-Za-z0-9.\-[\]:]+$/.test(host) && URL.canParse(`${proto}://${host}`)
      ? `${proto}://${host}`
      : 'http://hub.invalid';
  return `${origin}${HUB_PATH}`;
}

/**
 * With `publicUrl` set, a request naming another host is refused with 421 Misdirected
 * Request, as Mercure 1.0 does for an origin not in its `public_urls`: the hub's identity
 * (token audience, URL pattern base) would otherwise be one the client did not ask for. The
 * host is compared, not the scheme, which a TLS-terminating proxy changes.
 *
 * @throws HttpError 421
 */
export function assertHubHost(request: HubRequest, options: ResolvedHubOptions): void {
  if (options.publicUrl === undefined) return;
  const expected = new URL(options.publicUrl).host;
  const host = (requestHost(request) ?? '').toLowerCase();
  const forwarded = options.trustProxy ? request.headers['x-forwarded-host'] : undefined;
  const seen = typeof forwarded === 'string' ? forwarded.split(',')[0]!.trim().toLowerCase() : host;
  if (seen !== expected && `${seen}:${defaultPort(options.publicUrl)}` !== expected) {
    throw new HttpError(
      421,
      `this hub answers as ${new URL(options.publicUrl).origin}, not for host ${JSON.stringify(seen).slice(0, 80)}`,
    );
  }
}

function defaultPort(url: string): string {
  return new URL(url).protocol === 'https:' ? '443' : '80';
}

/**
 * The host the client asked for: `Host` on HTTP/1.1; on HTTP/2 the `:authority`
 * pseudo-header, which replaces it ("Clients that generate HTTP/2 requests directly MUST use
 * the `:authority` pseudo-header field to convey authority information", RFC 9113 §8.3.1).
 */
export function requestHost(request: HubRequest): string | undefined {
  const authority = request.headers[':authority'];
  if (typeof authority === 'string' && authority !== '') return authority;
  return request.headers.host;
}

/** `https` over TLS: the socket says so on HTTP/1.1, `:scheme` on HTTP/2. */
function requestScheme(request: HubRequest): 'http' | 'https' {
  const scheme = request.headers[':scheme'];
  if (scheme === 'https' || scheme === 'http') return scheme;
  return 'encrypted' in request.socket && request.socket.encrypted ? 'https' : 'http';
}
