import { HttpError } from '../http/http-error.js';

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PLUS = 0x2b;
const PERCENT = 0x25;
const SPACE = 0x20;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One `name=value` pair of a form, decoded. */
export type FormField = readonly [name: string, value: string];

/**
 * Parses `application/x-www-form-urlencoded` bytes (a request body, or a query string as
 * its raw bytes) into name/value pairs in order, repeated names kept.
 *
 * The WHATWG URL standard's parser is lenient: a `%` that starts no escape stays literal
 * and bad UTF-8 becomes U+FFFD. A hub must not guess at what a publisher meant — a topic
 * that silently changed is an update nobody receives — so both are refused here with a 400
 * that points at the bytes.
 *
 * @param where words for the error message: "request body", "query string".
 * @throws HttpError 400 on a malformed escape or invalid UTF-8.
 */
export function parseFormUrlEncoded(bytes: Uint8Array, where: string): FormField[] {
  const fields: FormField[] = [];
  let start = 0;
  const end = bytes.length;
  while (start <= end) {
    let stop = bytes.indexOf(AMPERSAND, start);
    if (stop === -1) stop = end;
    // "If sequence is the empty byte sequence, then continue."
    if (stop > start) {
      let equals = bytes.indexOf(EQUALS, start);
      if (equals === -1 || equals > stop) equals = stop;
      const name = decodeComponent(bytes, start, equals, where);
      const value = equals < stop ? decodeComponent(bytes, equals + 1, stop, where) : '';
      fields.push([name, value]);
    }
    start = stop + 1;
  }
  return fields;
}

/** Decodes the raw query of a request target (`req.url` after `?`) the same strict way. */
export function parseQueryString(query: string): FormField[] {
  // Node hands over the request line as latin1, one char per byte: this recovers the bytes,
  // so raw UTF-8 in a query (curl sends it unescaped) decodes correctly.
  return parseFormUrlEncoded(Buffer.from(query, 'latin1'), 'query string');
}

function decodeComponent(bytes: Uint8Array, from: number, to: number, where: string): string {
  // Fast path: nothing to unescape and plain ASCII.
  let plain = true;
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if (c === PERCENT || c === PLUS || c > 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain)
    return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');

  const out = new Uint8Array(to - from);
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if (c === PLUS) {
      out[n++] = SPACE;
    } else if (c === PERCENT) {
      const high = hexValue(bytes[i + 1]);
      const low = hexValue(bytes[i + 2]);
      if (i + 2 >= to || high < 0 || low < 0) {
        const shown = Buffer.from(bytes.subarray(i, Math.min(i + 3, to))).toString('latin1');
        throw new HttpError(
          400,
          `malformed percent-encoding "${shown}" at byte ${i} of the ${where}: ` +
            'a "%" must be followed by two hex digits (write a literal "%" as %25)',
        );
      }
      out[n++] = (high << 4) | low;
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  try {
    return utf8.decode(out.subarray(0, n));
  } catch {
    throw new HttpError(400, `the ${where} is not valid UTF-8 once percent-decoded`);
  }
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
