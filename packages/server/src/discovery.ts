// Characters that would end or break a `<URI-Reference>` in a Link header (RFC 8288 §3), or
// that no header value may carry.
const INVALID_IN_LINK = /[\u0000-\u0020\u007f<>"]/;

function linkTarget(uri: string, name: string): string {
  if (uri === '' || INVALID_IN_LINK.test(uri)) {
    throw new TypeError(
      `discoveryLinkHeader: "${name}" must be a URI reference without spaces, control characters, quotes or angle brackets, got ${JSON.stringify(uri)}`,
    );
  }
  // Header values are bytes: non-ASCII characters (an IRI) are sent percent-encoded as UTF-8.
  return uri.replace(/[^\u0000-\u007f]+/g, (text) => encodeURI(text));
}

/**
 * The value of a `Link` header through which Mercure clients discover the hub: "The URL of
 * the hub MUST be advertised using a Link header with the rel attribute set to mercure", and
 * optionally the canonical topic of the resource with `rel="self"`.
 *
 * @example res.setHeader('Link', discoveryLinkHeader('https://example.com/.well-known/mercure', { self: 'https://example.com/books/1' }))
 * @throws TypeError when a URI is empty or contains characters a Link header cannot carry.
 */
export function discoveryLinkHeader(hubUrl: string, options: { self?: string } = {}): string {
  let value = `<${linkTarget(hubUrl, 'hubUrl')}>; rel="mercure"`;
  if (options.self !== undefined) value += `, <${linkTarget(options.self, 'self')}>; rel="self"`;
  return value;
}
