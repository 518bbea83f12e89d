import { ParseError } from './errors.js';
import type { ServerSentEvent } from './types.js';

// Char codes compared in the hot path: comparing numbers avoids allocating one-char strings.
const LF = 10;
const CR = 13;
const SPACE = 32;
const COLON = 58;
const BOM = 0xfeff;
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/** Default cap on one line, in UTF-16 code units (8 Mi): room for a large base64 payload. */
export const DEFAULT_MAX_LINE_LENGTH = 8 * 1024 * 1024;
/** Default cap on the data of one event, in UTF-16 code units (32 Mi). */
export const DEFAULT_MAX_EVENT_SIZE = 32 * 1024 * 1024;

export interface ParserCallbacks {
  /** A complete event: a blank line ended a block that had at least one `data` field. */
  onEvent?(event: ServerSentEvent): void;
  /** A valid `retry:` field (ASCII digits only): the new reconnection time in milliseconds. */
  onRetry?(milliseconds: number): void;
  /** A comment line, without the leading `:` and without one leading space after it. */
  onComment?(text: string): void;
  /** The input went over a limit; the parser dropped the line and its event and goes on. */
  onError?(error: ParseError): void;
}

export interface ParserOptions {
  /** The last event ID to start from, e.g. the one a client saved before it reconnected. */
  lastEventId?: string;
  /** Longest line accepted, in UTF-16 code units. Default {@link DEFAULT_MAX_LINE_LENGTH}. */
  maxLineLength?: number;
  /** Most data one event may carry, in UTF-16 code units. Default {@link DEFAULT_MAX_EVENT_SIZE}. */
  maxEventSize?: number;
}

export interface EventStreamParser {
  /**
   * Parses the next piece of the stream. Bytes are decoded as UTF-8 (always, whatever the
   * Content-Type says), with multi-byte characters split across chunks handled and invalid
   * bytes turned into U+FFFD. Feed one kind per stream: strings or bytes.
   * Never throws because of the input; only a callback's own exception propagates.
   */
  feed(chunk: string | Uint8Array): void;
  /**
   * Ends the current stream: an unterminated line and an event without its blank line are
   * discarded, as the spec says. The committed last event ID is kept, so the same parser can
   * read the stream of the next reconnection.
   */
  end(): void;
  /** The last event ID committed by a dispatched block (an id-only block commits too). */
  readonly lastEventId: string;
}

/**
 * Creates a push parser for `text/event-stream`, following the WHATWG HTML "Server-sent
 * events" parsing rules exactly.
 *
 * Limits keep memory bounded against a hostile or broken server: a line longer than
 * `maxLineLength` or an event whose data outgrows `maxEventSize` is reported once through
 * `onError` as a {@link ParseError}; that line and the whole event it belongs to (its `id`
 * included) are dropped, and parsing resumes after the next blank line. The result does not
 * depend on how the input was chunked.
 */
export function createParser(
  callbacks: ParserCallbacks,
  options: ParserOptions = {},
): EventStreamParser {
  const { onEvent, onRetry, onComment, onError } = callbacks;
  const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE;

  // "last event ID string": what the last dispatched block committed.
  let lastEventId = options.lastEventId ?? '';
  // "last event ID buffer": set by `id:` fields, committed at dispatch. It is not reset by a
  // dispatch, only by the end of a stream (an unterminated block's id must not survive).
  let idBuffer = lastEventId;
  let typeBuffer = '';
  // The data buffer is kept as lines joined with LF, so the spec's "remove the trailing LF"
  // step costs nothing; `dataLines` tells "no data field" apart from "empty data".
  let data = '';
  let dataLines = 0;
  // Set when a limit was hit inside this block: skip everything up to the next blank line.
  let discardEvent = false;

  // The part of a line that arrived without its terminator, carried to the next chunk.
  let pending = '';
  // The carried line went over the limit: drop input up to the next line terminator.
  let discardLine = false;
  // The previous chunk ended in CR: a LF at the start of the next chunk belongs to it.
  let skipLeadingLf = false;
  // No character of this stream has been seen yet, so a BOM may still come.
  let atStreamStart = true;
  let decoder: TextDecoder | undefined;

  function reportLimit(code: 'line-too-long' | 'event-too-large', limit: number): void {
    discardEvent = true;
    data = '';
    dataLines = 0;
    onError?.(new ParseError(code, limit));
  }

  function dispatch(): void {
    if (discardEvent) {
      // A dropped event is dropped whole: its id is not committed either.
      discardEvent = false;
      idBuffer = lastEventId;
      typeBuffer = '';
      return;
    }
    // "Set the last event ID string of the event source to the value of the last event ID
    // buffer" happens before the empty-data check: an id-only block updates the id.
    lastEventId = idBuffer;
    if (dataLines === 0) {
      // "If the data buffer is an empty string, set the data buffer and the event type buffer
      // to the empty string and return."
      typeBuffer = '';
      return;
    }
    const event: ServerSentEvent = { type: typeBuffer || 'message', data, lastEventId };
    data = '';
    dataLines = 0;
    typeBuffer = '';
    onEvent?.(event);
  }

  /** One complete line: `s` from `start` (inclusive) to `end` (exclusive). */
  function processLine(s: string, start: number, end: number): void {
    // "If the line is empty (a blank line): Dispatch the event."
    if (start === end) {
      dispatch();
      return;
    }
    if (discardEvent) return;

    // "If the line starts with a U+003A COLON character (:): Ignore the line." We hand it to
    // onComment so servers' heartbeats and notes can be observed. s[end] is always CR, LF or
    // past the string, so peeking one past the colon never reads the next line's text.
    if (s.charCodeAt(start) === COLON) {
      if (onComment !== undefined) {
        onComment(s.slice(s.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end));
      }
      return;
    }

    // "Collect the characters on the line before the first U+003A COLON character (:)".
    // Field names are short, so a plain scan beats indexOf, which could run past `end`.
    let colon = start;
    while (colon < end && s.charCodeAt(colon) !== COLON) colon++;
    // "If value starts with a U+0020 SPACE character, remove it from value." No colon means
    // the whole line is the field name and the value is empty.
    let valueStart = colon + 1;
    if (colon === end) valueStart = end;
    else if (s.charCodeAt(valueStart) === SPACE) valueStart++;

    // Field names compare exactly: the length check plus startsWith rejects `Data`, `datas`.
    switch (colon - start) {
      case 4:
        if (s.startsWith('data', start)) {
          const value = s.slice(valueStart, end);
          if (dataLines === 0) data = value;
          else data = data + '\n' + value;
          dataLines++;
          if (data.length > maxEventSize) reportLimit('event-too-large', maxEventSize);
        }
        return;
      case 5:
        if (s.startsWith('event', start)) {
          typeBuffer = s.slice(valueStart, end);
        } else if (s.startsWith('retry', start)) {
          // "If the field value consists of only ASCII digits, then interpret the field value
          // as an integer in base ten": anything else, the empty value included, is ignored.
          if (valueStart === end) return;
          for (let i = valueStart; i < end; i++) {
            const c = s.charCodeAt(i);
            if (c < DIGIT_0 || c > DIGIT_9) return;
          }
          onRetry?.(Number.parseInt(s.slice(valueStart, end), 10));
        }
        return;
      case 2:
        if (s.startsWith('id', start)) {
          const value = s.slice(valueStart, end);
          // "If the field value does not contain U+0000 NULL, then set the last event ID
          // buffer to the field value. Otherwise, ignore the field."
          if (value.indexOf('\0') === -1) idBuffer = value;
        }
        return;
      default:
      // "Otherwise: The field is ignored."
    }
  }

  function feedText(chunk: string): void {
    const length = chunk.length;
    if (length === 0) return;
    let pos = 0;
    if (atStreamStart) {
      atStreamStart = false;
      // Exactly one leading BOM is stripped; a second one is part of the first field name.
      if (chunk.charCodeAt(0) === BOM) pos = 1;
    }
    if (skipLeadingLf) {
      skipLeadingLf = false;
      if (chunk.charCodeAt(pos) === LF) pos++;
    }

    // Positions of the next LF and CR at or after `pos`; `length` once none is left. Keeping
    // both between lines means each terminator is searched for once per chunk, which is
    // what keeps CRLF streams and streams without any CR as fast as LF-only ones.
    let nextLf = -1;
    let nextCr = -1;
    while (pos < length) {
      if (nextLf < pos) {
        nextLf = chunk.indexOf('\n', pos);
        if (nextLf === -1) nextLf = length;
      }
      if (nextCr < pos) {
        nextCr = chunk.indexOf('\r', pos);
        if (nextCr === -1) nextCr = length;
      }
      const end = nextLf < nextCr ? nextLf : nextCr;

      if (end === length) {
        // No terminator left: carry the rest to the next chunk.
        if (discardLine) return;
        pending =
          pending === '' ? (pos === 0 ? chunk : chunk.slice(pos)) : pending + chunk.slice(pos);
        if (pending.length > maxLineLength) {
          pending = '';
          discardLine = true;
          reportLimit('line-too-long', maxLineLength);
        }
        return;
      }

      if (discardLine) {
        discardLine = false;
      } else if (pending !== '') {
        const line = pending + chunk.slice(pos, end);
        pending = '';
        if (line.length > maxLineLength) reportLimit('line-too-long', maxLineLength);
        else processLine(line, 0, line.length);
      } else if (end - pos > maxLineLength) {
        reportLimit('line-too-long', maxLineLength);
      } else {
        processLine(chunk, pos, end);
      }

      if (end === nextCr) {
        // "A U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single U+000A
        // LINE FEED (LF) character not preceded by a U+000D CARRIAGE RETURN (CR) character,
        // and a single U+000D CARRIAGE RETURN (CR) character not followed by a U+000A LINE
        // FEED (LF) character" end lines. The CR ended the line already (the event is not held
        // back waiting for the next chunk); a LF right after it is swallowed, even if it only
        // arrives with the next chunk.
        if (end + 1 < length) {
          pos = chunk.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
        } else {
          pos = length;
          skipLeadingLf = true;
        }
      } else {
        pos = end + 1;
      }
    }
  }

  return {
    feed(chunk) {
      if (typeof chunk === 'string') {
        if (decoder !== undefined) flushDecoder();
        feedText(chunk);
        return;
      }
      // ignoreBOM keeps a leading BOM in the text, so strings and bytes share one BOM rule.
      decoder ??= new TextDecoder('utf-8', { ignoreBOM: true });
      feedText(decoder.decode(chunk, { stream: true }));
    },
    end() {
      // A truncated UTF-8 sequence decodes to U+FFFD, but it can only belong to an
      // unterminated line, which is discarded below anyway.
      decoder = undefined;
      pending = '';
      discardLine = false;
      skipLeadingLf = false;
      atStreamStart = true;
      // "If the file ends in the middle of an event, before the final empty line, the
      // incomplete event is not dispatched."
      data = '';
      dataLines = 0;
      typeBuffer = '';
      discardEvent = false;
      idBuffer = lastEventId;
    },
    get lastEventId() {
      return lastEventId;
    },
  };

  function flushDecoder(): void {
    const rest = decoder?.decode() ?? '';
    decoder = undefined;
    feedText(rest);
  }
}
