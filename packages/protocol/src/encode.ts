import type { EventMessage } from './types.js';

// One encoder for the whole module: TextEncoder is stateless, so sharing it is safe.
const textEncoder = new TextEncoder();
// CRLF first, so a CRLF pair splits once, not twice.
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * `event` and `id` end at the first line break, so a CR or LF in them would let the value
 * write extra fields or a whole extra event onto the wire. NUL makes a client ignore the
 * `id` field silently. Both are refused loudly instead.
 */
function assertSingleLine(field: 'event' | 'id', value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 10 || c === 13 || c === 0) {
      throw new TypeError(
        `SSE field "${field}" must not contain CR, LF or NUL (found at index ${i}): ` +
          'it would end the field early and could forge another event',
      );
    }
  }
}

/** Adds one `name: line` per line of `text`. Lines split on CRLF, CR and LF alike. */
function appendLines(out: string, name: string, text: string): string {
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) return out + name + text + '\n';
  for (const line of text.split(LINE_BREAK)) out += name + line + '\n';
  return out;
}

/**
 * Encodes one event block, ending in the blank line that makes the client dispatch it.
 * Values are written after `field: `, so a value that starts with a space survives (the
 * client strips exactly one).
 *
 * @throws TypeError when `event` or `id` contains CR, LF or NUL, or `retry` is not a
 *   non-negative integer; the message names the field.
 */
export function encodeEvent(message: EventMessage): string {
  let out = '';
  if (message.id !== undefined) {
    assertSingleLine('id', message.id);
    out += message.id === '' ? 'id\n' : 'id: ' + message.id + '\n';
  }
  if (message.event !== undefined) {
    assertSingleLine('event', message.event);
    out += 'event: ' + message.event + '\n';
  }
  if (message.retry !== undefined) {
    const retry = message.retry;
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new TypeError(
        `SSE field "retry" must be a non-negative integer of milliseconds, got ${String(retry)}`,
      );
    }
    out += 'retry: ' + retry + '\n';
  }
  if (message.data !== undefined) out = appendLines(out, 'data: ', message.data);
  return out + '\n';
}

/**
 * Encodes a comment: one `: line` per line of text, without a blank line (a comment does not
 * end an event). Clients ignore comments; servers send them as heartbeats through proxies.
 */
export function encodeComment(text = ''): string {
  return text === '' ? ':\n' : appendLines('', ': ', text);
}

/** {@link encodeEvent} as UTF-8 bytes. */
export function encodeEventBytes(message: EventMessage): Uint8Array {
  return textEncoder.encode(encodeEvent(message));
}

/** {@link encodeComment} as UTF-8 bytes. */
export function encodeCommentBytes(text = ''): Uint8Array {
  return textEncoder.encode(encodeComment(text));
}
