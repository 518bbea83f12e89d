import type { OutgoingHttpHeaders } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

/**
 * Headers that describe one HTTP/1 connection, not the message. RFC 9113 §8.2.2: "An
 * endpoint MUST NOT generate an HTTP/2 message containing connection-specific header fields
 * [...] Connection, Proxy-Connection, Keep-Alive, Transfer-Encoding, and Upgrade"; node:http2
 * throws when a response carries one. The hub's routes are written for HTTP/1 (a refusal
 * says `Connection: close` so the rest of an unread body is not taken for the next request);
 * on HTTP/2 that meaning belongs to the stream, which ends with the response anyway.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase());
}

type Headers = OutgoingHttpHeaders;

function withoutHopByHop(headers: Headers): Headers {
  let kept: Headers | undefined;
  for (const name of Object.keys(headers)) {
    if (!isHopByHop(name)) continue;
    kept ??= { ...headers };
    delete kept[name];
  }
  return kept ?? headers;
}

/**
 * Makes an HTTP/2 compatibility response drop connection-specific headers instead of
 * throwing, so every route answers the same on HTTP/1.1 and HTTP/2. Only the instance is
 * changed: HTTP/1 responses keep Node's own methods.
 */
export function dropHopByHopHeaders(response: Http2ServerResponse): void {
  const setHeader = response.setHeader;
  // Loosely typed: the overloads of writeHead are forwarded as they came.
  const writeHead = response.writeHead as (
    this: Http2ServerResponse,
    status: number,
    ...rest: unknown[]
  ) => Http2ServerResponse;
  response.setHeader = function (this: Http2ServerResponse, name, value) {
    if (isHopByHop(name)) return this;
    return setHeader.call(this, name, value);
  };
  response.writeHead = function (
    this: Http2ServerResponse,
    status: number,
    messageOrHeaders?: string | Headers,
    maybeHeaders?: Headers,
  ) {
    if (typeof messageOrHeaders === 'string') {
      return writeHead.call(
        this,
        status,
        messageOrHeaders,
        maybeHeaders === undefined || Array.isArray(maybeHeaders)
          ? maybeHeaders
          : withoutHopByHop(maybeHeaders),
      );
    }
    return writeHead.call(
      this,
      status,
      messageOrHeaders === undefined || Array.isArray(messageOrHeaders)
        ? messageOrHeaders
        : withoutHopByHop(messageOrHeaders),
    );
  } as Http2ServerResponse['writeHead'];
}
