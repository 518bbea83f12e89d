export type HttpVersion = 'http/1.1' | 'http/1.0' | 'h2' | 'unknown';

/**
 * Hop-by-hop headers. HTTP/2 forbids them ("Endpoints MUST NOT generate an HTTP/2 message
 * containing connection-specific header fields", RFC 9113 §8.2.2) and node:http2 throws on
 * them, so they are dropped there; Fetch runtimes choose them themselves.
 */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The response headers of an event stream, names in lower case (as HTTP/2 requires; HTTP/1
 * names are case-insensitive). Extra headers override the defaults, whatever their case.
 *
 * - `Cache-Control: no-cache, no-transform`: no cache may store an endless response, and
 *   `no-transform` asks proxies not to recompress it (which would buffer it).
 * - `X-Accel-Buffering: no`: nginx passes the response on unbuffered even where
 *   `proxy_buffering` is on.
 * - `Connection: keep-alive` on HTTP/1.1 only: it means nothing on HTTP/2 (where it is an
 *   error) and Fetch runtimes set it themselves.
 */
export function sseHeaders(
  version: HttpVersion,
  extra: Record<string, string> | undefined,
  contentCoding: string | undefined,
  varyOnEncoding: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  };
  if (version === 'http/1.1') headers.connection = 'keep-alive';
  if (varyOnEncoding) headers.vary = 'accept-encoding';
  if (extra !== undefined) {
    for (const name of Object.keys(extra)) {
      const lower = name.toLowerCase();
      if (version !== 'http/1.1' && version !== 'http/1.0' && CONNECTION_SPECIFIC.has(lower)) {
        continue;
      }
      headers[lower] = extra[name] as string;
    }
  }
  // Set last: an extra Content-Encoding must not claim a coding the body does not have.
  if (contentCoding !== undefined) headers['content-encoding'] = contentCoding;
  return headers;
}
