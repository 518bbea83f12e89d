const utf8 = new TextEncoder();

/**
 * A header value for `Last-Event-ID`. The spec sends the id "encoded as UTF-8", but fetch's
 * `Headers` only take byte strings (every char below U+0100) and throw on anything else.
 * Writing each UTF-8 byte as one char ("isomorphic encoding") makes fetch put exactly those
 * bytes on the wire, so `…` arrives as E2 80 A6, as a browser's EventSource sends it.
 */
export function lastEventIdHeaderValue(id: string): string {
  // Fast path: ASCII ids (the common case) are already their own byte string.
  let ascii = true;
  for (let i = 0; i < id.length; i++) {
    if (id.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return id;
  let out = '';
  for (const byte of utf8.encode(id)) out += String.fromCharCode(byte);
  return out;
}
