/**
 * The id a reconnecting client resumes from: the `Last-Event-ID` header, which EventSource
 * sends on every reconnection, else the query parameter `param` for clients that cannot set
 * headers (a first connection of EventSource, which may carry the id it saved itself).
 * `""` when neither is present. The spec's client never sends an empty header, so an empty
 * header counts as absent.
 */
export function readLastEventId(
  header: string | string[] | null | undefined,
  url: string | undefined,
  param: string | undefined,
): string {
  if (typeof header === 'string' && header !== '') return fromHeaderBytes(header);
  if (Array.isArray(header) && header[0] !== undefined && header[0] !== '') {
    return fromHeaderBytes(header[0]);
  }
  if (param === undefined || url === undefined) return '';
  const query = url.indexOf('?');
  if (query === -1) return '';
  const hash = url.indexOf('#', query);
  return new URLSearchParams(url.slice(query + 1, hash === -1 ? undefined : hash)).get(param) ?? '';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Header values reach us one char per byte (node:http, node:http2 and Fetch all hand them
 * over as latin1 "byte strings"), while EventSource sends the id UTF-8 encoded ("set
 * `Last-Event-ID` to the last event ID string, UTF-8 encoded"). Recover the id the client
 * saw; a value that is not valid UTF-8 is kept as it came.
 */
function fromHeaderBytes(value: string): string {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) return value;
    if (c > 0x7f) ascii = false;
  }
  if (ascii) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  try {
    return utf8.decode(bytes);
  } catch {
    return value;
  }
}
