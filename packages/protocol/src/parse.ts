import { ParseError, type ParseErrorCode } from './errors.js';
import type { ServerSentEvent } from './types.js';
import { createUtf8StreamDecoder, type Utf8StreamDecoder } from './utf8-decoder.js';

// Char codes compared in the hot path: comparing numbers avoids allocating one-char strings.
const LF = 10;
const CR = 13;
const SPACE = 32;
const COLON = 58;
const BOM = 0xfeff;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
// The first letters of the four field names, and the letters of `data`, matched inline.
const A = 97;
const D = 100;
const E = 101;
const I = 105;
const R = 114;
const T = 116;

/** Up to this many digits, a retry value is summed up exactly without `parseInt`. */
const EXACT_RETRY_DIGITS = 15;

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
   * bytes turned into U+FFFD. Strings and bytes may be mixed; a character left incomplete by
   * the bytes before a string decodes to U+FFFD.
   * Never throws because of the input; only a callback's own exception propagates (the rest
   * of that chunk is then not parsed).
   */
  feed(chunk: string | Uint8Array): void;
  /**
   * Ends the current stream: an unterminated line and an event without its blank line are
   * discarded, as the spec says. The committed last event ID is kept, so the same parser can
   * read the stream of the next reconnection (which may start with its own BOM).
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
  const maxLineLength = limitOption(
    options.maxLineLength,
    'maxLineLength',
    DEFAULT_MAX_LINE_LENGTH,
  );
  const maxEventSize = limitOption(options.maxEventSize, 'maxEventSize', DEFAULT_MAX_EVENT_SIZE);

  // "last event ID string": what the last dispatched block committed.
  let lastEventId = options.lastEventId ?? '';
  // "last event ID buffer": set by `id:` fields, committed at dispatch. It is not reset by a
  // dispatch, only by the end of a stream (an unterminated block's id must not survive).
  let idBuffer = lastEventId;
  let typeBuffer = '';
  // The data buffer is kept as lines joined with LF, so the spec's "remove the trailing LF"
  // step costs nothing; `hasData` tells "no data field" apart from "empty data".
  let data = '';
  let hasData = false;
  // Set when a limit was hit inside this block: skip everything up to the next blank line.
  let discardEvent = false;

  // The start of a line that arrived without its terminator, carried to the next chunk.
  let pending = '';
  // When the carried line is a data line, `pending` holds its value only and this is the
  // length of the `data:` or `data: ` that was cut off (0 otherwise). The value is then
  // completed by joining the pieces, never by re-parsing the whole line: a line that spans
  // chunks is not copied just to be taken apart again.
  let pendingDataPrefix = 0;
  // The carried line went over the limit: drop input up to the next line terminator.
  let discardLine = false;
  // The previous chunk ended in CR: an LF at the start of the next chunk belongs to it.
  let skipLeadingLf = false;
  // No character of this stream has been seen yet, so a BOM may still come.
  let atStreamStart = true;
  let decoder: Utf8StreamDecoder | undefined;

  function reportLimit(code: ParseErrorCode, limit: number): void {
    discardEvent = true;
    data = '';
    hasData = false;
    onError?.(new ParseError(code, limit));
  }

  /**
   * "Append the field value to the data buffer, then append a single U+000A LINE FEED (LF)
   * character to the data buffer." The LF goes between values instead, so there is no trailing
   * one to remove at dispatch.
   */
  function appendData(value: string): void {
    if (hasData) data = data + '\n' + value;
    else {
      data = value;
      hasData = true;
    }
    if (data.length > maxEventSize) reportLimit('event-too-large', maxEventSize);
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
    if (!hasData) {
      // "If the data buffer is an empty string, set the data buffer and the event type buffer
      // to the empty string and return."
      typeBuffer = '';
      return;
    }
    // "Initialize event's type attribute to "message" [...] If the event type buffer has a
    // value other than the empty string, change the type of the newly created event to equal
    // the value of the event type buffer."
    const event: ServerSentEvent = {
      type: typeBuffer === '' ? 'message' : typeBuffer,
      data,
      lastEventId,
    };
    data = '';
    hasData = false;
    typeBuffer = '';
    if (onEvent !== undefined) onEvent(event);
  }

  /**
   * One complete, non-empty line: `text` from `start` to `end` (exclusive). `text[end]` is the
   * line's terminator or past the end of `text`, so peeking one character past a field name
   * or a colon can never read a character of the next line. Kept small, with the rarer work in
   * functions of its own, so that the JIT can inline it into the loop over a chunk's lines.
   */
  function processLine(text: string, start: number, end: number): void {
    if (discardEvent) return;
    const first = text.charCodeAt(start);
    // "If the line starts with a U+003A COLON character (:): Ignore the line." It goes to
    // onComment, so that heartbeats and notes from the server can be observed.
    if (first === COLON) {
      if (onComment !== undefined) comment(text, start, end);
      return;
    }
    const valueStart = fieldValueStart(text, start, end, first);
    if (valueStart === -1) return; // "Otherwise: The field is ignored."
    if (first === D) {
      appendData(text.slice(valueStart, end));
    } else if (first === E) {
      // "Set the event type buffer to field value."
      typeBuffer = text.slice(valueStart, end);
    } else if (first === I) {
      // "If the field value does not contain U+0000 NULL, then set the last event ID
      // buffer to the field value. Otherwise, ignore the field."
      const value = text.slice(valueStart, end);
      if (value.indexOf('\0') === -1) idBuffer = value;
    } else {
      retry(text, valueStart, end);
    }
  }

  function comment(text: string, start: number, end: number): void {
    onComment!(text.slice(text.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end));
  }

  /**
   * "If the field value consists of only ASCII digits, then interpret the field value as an
   * integer in base ten, and set the event stream's reconnection time to that integer.
   * Otherwise, ignore the field." The empty value has no digits, so it is ignored too.
   */
  function retry(text: string, valueStart: number, end: number): void {
    if (valueStart === end) return;
    let milliseconds = 0;
    for (let i = valueStart; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c < DIGIT_0 || c > DIGIT_9) return;
      milliseconds = milliseconds * 10 + (c - DIGIT_0);
    }
    // Past 15 digits the running sum can round differently from a correctly rounded parse;
    // such values are nonsense as delays, but they are still reported faithfully.
    if (end - valueStart > EXACT_RETRY_DIGITS) {
      milliseconds = Number.parseInt(text.slice(valueStart, end), 10);
    }
    onRetry?.(milliseconds);
  }

  /** A complete, non-empty line, checked against the line limit first. */
  function line(text: string, start: number, end: number): void {
    if (end - start > maxLineLength) reportLimit('line-too-long', maxLineLength);
    else processLine(text, start, end);
  }

  /** Keeps the unterminated rest of a chunk (from `start`) for the next one. */
  function carry(text: string, start: number): void {
    const length = text.length;
    if (start >= length || discardLine) return;
    if (pending !== '' || pendingDataPrefix !== 0) {
      pending = pending + text.slice(start);
    } else if (
      length - start > 5 &&
      text.charCodeAt(start) === D &&
      text.charCodeAt(start + 1) === A &&
      text.charCodeAt(start + 2) === T &&
      text.charCodeAt(start + 3) === A &&
      text.charCodeAt(start + 4) === COLON
    ) {
      // A data line whose value has begun: keep the value only (see pendingDataPrefix).
      pendingDataPrefix = text.charCodeAt(start + 5) === SPACE ? 6 : 5;
      pending = text.slice(start + pendingDataPrefix);
    } else {
      pending = text.slice(start);
    }
    if (pendingDataPrefix + pending.length > maxLineLength) {
      // Report it now rather than when the line ends: it may never end.
      pending = '';
      pendingDataPrefix = 0;
      discardLine = true;
      reportLimit('line-too-long', maxLineLength);
    }
  }

  /**
   * Where the line after the one that `end` terminates starts. "A U+000D CARRIAGE RETURN U+000A
   * LINE FEED (CRLF) character pair" is one terminator. A CR has ended its line at once: an
   * event is not held back waiting for the next chunk, and an LF right after the CR is
   * swallowed even if it only arrives with that chunk.
   */
  function nextLineStart(text: string, end: number): number {
    const next = end + 1;
    if (text.charCodeAt(end) !== CR) return next;
    if (next === text.length) {
      skipLeadingLf = true;
      return next;
    }
    return text.charCodeAt(next) === LF ? next + 1 : next;
  }

  function feedText(text: string): void {
    const length = text.length;
    if (length === 0) return;
    let pos = 0;
    if (atStreamStart) {
      atStreamStart = false;
      // "Streams must be decoded using the UTF-8 decode algorithm. The UTF-8 decode algorithm
      // strips one leading UTF-8 Byte Order Mark (BOM), if any." Only one: a second is part of
      // the first field name, as browsers do. Bytes keep their BOM through the decoder, so
      // this one check serves strings and bytes alike.
      if (text.charCodeAt(0) === BOM) pos = 1;
    }
    if (skipLeadingLf) {
      skipLeadingLf = false;
      if (text.charCodeAt(pos) === LF) pos++;
    }

    // "The stream must then be parsed by reading everything line by line, with a U+000D
    // CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF)
    // character not preceded by a U+000D CARRIAGE RETURN (CR) character, and a single U+000D
    // CARRIAGE RETURN (CR) character not followed by a U+000A LINE FEED (LF) character being
    // the ways in which a line can end."
    //
    // `lf` and `cr` are the next LF and CR at or after `pos`, or -1 when the chunk has no more.
    // Each is searched for again only once a line has consumed it, so a chunk without any CR
    // costs one search for CR in all, and every line of an LF stream one search for its LF.
    let lf = text.indexOf('\n', pos);
    let cr = text.indexOf('\r', pos);

    if (pending !== '' || pendingDataPrefix !== 0 || discardLine) {
      const end = lf === -1 ? cr : cr === -1 || lf < cr ? lf : cr;
      if (end === -1) {
        carry(text, pos);
        return;
      }
      if (discardLine) {
        // The rest of a line already reported as too long: drop it.
        discardLine = false;
      } else if (pendingDataPrefix !== 0) {
        const value = pending + text.slice(pos, end);
        const lineLength = pendingDataPrefix + value.length;
        pending = '';
        pendingDataPrefix = 0;
        if (lineLength > maxLineLength) reportLimit('line-too-long', maxLineLength);
        else if (!discardEvent) appendData(value);
      } else {
        // Only the carried line is joined, not the whole chunk: a join costs a copy of what
        // it joins once V8 flattens it.
        const joined = pending + text.slice(pos, end);
        pending = '';
        line(joined, 0, joined.length);
      }
      pos = nextLineStart(text, end);
    }

    if (cr === -1) {
      // No CR in the rest of the chunk, as in most streams: every line ends at an LF. The
      // same loop as below, without the CR bookkeeping.
      while (pos < length) {
        const first = text.charCodeAt(pos);
        if (first === LF) {
          dispatch();
          pos++;
          continue;
        }
        if (lf < pos) {
          if (lf === -1) break;
          lf = text.indexOf('\n', pos);
          if (lf === -1) break;
        }
        if (
          first === D &&
          text.charCodeAt(pos + 1) === A &&
          text.charCodeAt(pos + 2) === T &&
          text.charCodeAt(pos + 3) === A &&
          text.charCodeAt(pos + 4) === COLON &&
          lf - pos <= maxLineLength &&
          !discardEvent
        ) {
          appendData(text.slice(text.charCodeAt(pos + 5) === SPACE ? pos + 6 : pos + 5, lf));
        } else {
          line(text, pos, lf);
        }
        pos = lf + 1;
      }
      carry(text, pos);
      return;
    }

    while (pos < length) {
      // A blank line ends an event: found by looking, not by a search.
      const first = text.charCodeAt(pos);
      if (first === LF) {
        dispatch();
        pos++;
        continue;
      }
      if (first === CR) {
        dispatch();
        pos = nextLineStart(text, pos);
        continue;
      }
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
      let end: number;
      if (cr === -1) {
        if (lf === -1) break;
        end = lf;
      } else {
        end = lf !== -1 && lf < cr ? lf : cr;
      }
      if (
        // Most lines of most streams are `data:` lines: those are handled right here, without
        // the calls and the general field matching of `line` (the same rules, spelled out).
        first === D &&
        text.charCodeAt(pos + 1) === A &&
        text.charCodeAt(pos + 2) === T &&
        text.charCodeAt(pos + 3) === A &&
        text.charCodeAt(pos + 4) === COLON &&
        end - pos <= maxLineLength &&
        !discardEvent
      ) {
        appendData(text.slice(text.charCodeAt(pos + 5) === SPACE ? pos + 6 : pos + 5, end));
      } else {
        line(text, pos, end);
      }
      pos = nextLineStart(text, end);
    }
    carry(text, pos);
  }

  function flushDecoder(): void {
    if (decoder === undefined) return;
    const rest = decoder.flush();
    decoder = undefined;
    feedText(rest);
  }

  return new Parser(
    (chunk) => {
      if (typeof chunk === 'string') {
        if (decoder !== undefined) flushDecoder();
        feedText(chunk);
        return;
      }
      decoder ??= createUtf8StreamDecoder();
      feedText(decoder.decode(chunk));
    },
    () => {
      // A character left incomplete decodes to U+FFFD, as a TextDecoder would at the end,
      // so that the line limit sees the same text however the stream arrived.
      flushDecoder();
      pending = '';
      pendingDataPrefix = 0;
      discardLine = false;
      skipLeadingLf = false;
      atStreamStart = true;
      // "If the file ends in the middle of an event, before the final empty line, the
      // incomplete event is not dispatched."
      data = '';
      hasData = false;
      typeBuffer = '';
      discardEvent = false;
      idBuffer = lastEventId;
    },
    () => lastEventId,
  );
}

/**
 * The parser's face: its state lives in the closures of `createParser`, but the methods a
 * caller calls are the same functions for every parser. Were `feed` a closure of its own per
 * parser (an object literal's method), a caller's optimized loop would be specialised to the
 * first parser's `feed` and thrown away ("wrong call target") at every new parser: in a loop
 * that creates a parser per stream, V8 kept deoptimizing it, and which contender got stuck
 * interpreted varied from run to run.
 */
class Parser implements EventStreamParser {
  readonly #feed: (chunk: string | Uint8Array) => void;
  readonly #end: () => void;
  readonly #lastEventId: () => string;

  constructor(
    feed: (chunk: string | Uint8Array) => void,
    end: () => void,
    lastEventId: () => string,
  ) {
    this.#feed = feed;
    this.#end = end;
    this.#lastEventId = lastEventId;
  }

  feed(chunk: string | Uint8Array): void {
    this.#feed(chunk);
  }

  end(): void {
    this.#end();
  }

  get lastEventId(): string {
    return this.#lastEventId();
  }
}

/**
 * Where the value of a `data`, `event`, `id` or `retry` line starts, or -1 for any other line.
 *
 * "Collect the characters on the line before the first U+003A COLON character (:), and let
 * field be that string." Only four names mean anything, and "field names must be compared
 * literally, with no case folding performed" (`Data` is not `data`). So rather than searching
 * for the colon, match one name's letters and then want a colon or the line end right after
 * them. A comparison fails at the terminator, so none reads past the line.
 *
 * "Collect the characters on the line after the first U+003A COLON character (:), and let
 * value be that string. If value starts with a U+0020 SPACE character, remove it from value."
 * A line that is only the field name has the empty string as its value.
 */
function fieldValueStart(text: string, start: number, end: number, first: number): number {
  const name =
    first === D ? 'data' : first === E ? 'event' : first === I ? 'id' : first === R ? 'retry' : '';
  if (name === '') return -1;
  // A loop rather than one comparison per letter: it keeps this function small enough for
  // the JIT to inline into the loop over lines.
  for (let i = 1; i < name.length; i++) {
    if (text.charCodeAt(start + i) !== name.charCodeAt(i)) return -1;
  }
  const nameEnd = start + name.length;
  if (nameEnd === end) return end;
  if (text.charCodeAt(nameEnd) !== COLON) return -1; // a longer name, like `datas` or `id `
  return text.charCodeAt(nameEnd + 1) === SPACE ? nameEnd + 2 : nameEnd + 1;
}

/**
 * A limit option, checked once here: NaN or a string would otherwise make every comparison
 * with it false and switch the limit off without a word.
 */
function limitOption(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) {
    throw new RangeError(
      `createParser(): ${name} must be a number > 0 (Infinity for no limit), got ${String(value)}`,
    );
  }
  return value;
}
