import {
  createParser,
  DEFAULT_MAX_EVENT_SIZE,
  DEFAULT_MAX_LINE_LENGTH,
  ParseError,
  type ParserOptions,
  type ServerSentEvent,
} from '@tidings/protocol';
import { describe, expect, test } from 'vitest';
import { byteChunkings, stringChunkings } from './support/chunkings.js';
import { parseChunks, type Recording, recordingParser } from './support/record.js';

const message = (data: string, lastEventId = ''): ServerSentEvent => ({
  type: 'message',
  data,
  lastEventId,
});

/** Parses `text` under every chunking, as bytes and as strings; all results must be equal. */
function parseEveryWay(text: string, options: ParserOptions): Recording & { lastEventId: string } {
  const whole = parseChunks([text], options);
  for (const chunking of stringChunkings(text, undefined, 4)) {
    expect(parseChunks(chunking.chunks, options), `string, ${chunking.name}`).toEqual(whole);
  }
  for (const chunking of byteChunkings(new TextEncoder().encode(text), undefined, 4)) {
    expect(parseChunks(chunking.chunks, options), `bytes, ${chunking.name}`).toEqual(whole);
  }
  return whole;
}

describe('maxLineLength', () => {
  test('a longer line is reported as a ParseError and its event is dropped; the next event parses', () => {
    const result = parseEveryWay('data: ok\n\ndata: 0123456789\n\ndata: after\n\n', {
      maxLineLength: 12,
    });
    expect(result.events).toEqual([message('ok'), message('after')]);
    expect(result.errors).toEqual(['line-too-long:12']);
  });

  test('a line of exactly the limit is accepted', () => {
    const result = parseEveryWay('data: 1234\n\n', { maxLineLength: 10 });
    expect(result.events).toEqual([message('1234')]);
    expect(result.errors).toEqual([]);
  });

  test('the whole block of the long line is dropped, its id and other lines too', () => {
    const result = parseEveryWay(
      'id: 1\ndata: a\n\nid: 2\ndata: kept?\ndata: far too long\nretry: 5\n: note\ndata: b\n\ndata: c\n\n',
      { maxLineLength: 12 },
    );
    expect(result.events).toEqual([message('a', '1'), message('c', '1')]);
    expect(result.retries).toEqual([]);
    expect(result.comments).toEqual([]);
    expect(result.lastEventId).toBe('1');
    expect(result.errors).toEqual(['line-too-long:12']);
  });

  test('an endless line is reported once while it is still arriving, and memory stays bounded', () => {
    const errors: ParseError[] = [];
    const events: ServerSentEvent[] = [];
    const parser = createParser(
      { onEvent: (e) => events.push(e), onError: (e) => errors.push(e) },
      { maxLineLength: 1024 },
    );
    parser.feed('data: ');
    for (let i = 0; i < 1000; i++) parser.feed('x'.repeat(1000));
    // Reported as soon as the carried part of the line went over, not at its end.
    expect(errors).toHaveLength(1);
    parser.feed('\n\ndata: next\n\n');
    expect(events).toEqual([message('next')]);
    expect(errors).toHaveLength(1);
  });

  test('a long unterminated line at the end of the stream is reported the same however chunked', () => {
    const result = parseEveryWay('data: a\n\ndata: 0123456789', { maxLineLength: 8 });
    expect(result.events).toEqual([message('a')]);
    expect(result.errors).toEqual(['line-too-long:8']);
  });

  test('the limit counts UTF-16 code units, for bytes as for strings', () => {
    // "data: " + 2 astral characters = 6 + 4 units: over a limit of 9, within 10.
    expect(parseEveryWay('data: 😀😀\n\n', { maxLineLength: 9 }).errors).toEqual([
      'line-too-long:9',
    ]);
    expect(parseEveryWay('data: 😀😀\n\n', { maxLineLength: 10 }).events).toEqual([
      message('😀😀'),
    ]);
  });
});

describe('maxEventSize', () => {
  test('data growing past the limit is reported once and the event is dropped', () => {
    const result = parseEveryWay('data: 12345\ndata: 67890\ndata: more\n\ndata: small\n\n', {
      maxEventSize: 8,
    });
    expect(result.events).toEqual([message('small')]);
    expect(result.errors).toEqual(['event-too-large:8']);
  });

  test('the LFs joining data lines count towards the size', () => {
    // "1234\n5678" is 9 code units.
    expect(parseEveryWay('data: 1234\ndata: 5678\n\n', { maxEventSize: 9 }).events).toEqual([
      message('1234\n5678'),
    ]);
    expect(parseEveryWay('data: 1234\ndata: 5678\n\n', { maxEventSize: 8 }).errors).toEqual([
      'event-too-large:8',
    ]);
  });

  test('each oversized event is reported', () => {
    const result = parseEveryWay('data: 123456789\n\ndata: ok\n\ndata: 123456789\n\n', {
      maxEventSize: 4,
    });
    expect(result.events).toEqual([message('ok')]);
    expect(result.errors).toEqual(['event-too-large:4', 'event-too-large:4']);
  });
});

describe('ParseError', () => {
  test('is an Error with a code, the limit, and a message a person can act on', () => {
    const errors: ParseError[] = [];
    const parser = createParser({ onError: (e) => errors.push(e) }, { maxLineLength: 4 });
    parser.feed('data: too long\n\n');
    const [error] = errors;
    expect(error).toBeInstanceOf(ParseError);
    expect(error).toBeInstanceOf(Error);
    expect(error?.name).toBe('ParseError');
    expect(error?.code).toBe('line-too-long');
    expect(error?.limit).toBe(4);
    expect(error?.message).toMatch(/longer than 4 characters.*dropped/);
  });

  test('without onError the parser drops the event silently and goes on', () => {
    const events: ServerSentEvent[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) }, { maxEventSize: 3 });
    expect(() => parser.feed('data: 1234\n\ndata: 123\n\n')).not.toThrow();
    expect(events).toEqual([message('123')]);
  });

  test('end() in the middle of a dropped event starts the next stream clean', () => {
    const { parser, recording } = recordingParser({ maxLineLength: 8 });
    parser.feed('data: 0123456789\ndata: x\n');
    parser.end();
    parser.feed('data: y\n\n');
    expect(recording.events).toEqual([message('y')]);
    expect(recording.errors).toEqual(['line-too-long:8']);
  });
});

test('a limit that is not a number > 0 is refused at once, not silently ignored', () => {
  for (const bad of [0, -1, Number.NaN, '10' as unknown as number]) {
    expect(() => createParser({}, { maxLineLength: bad })).toThrow(
      /createParser\(\): maxLineLength must be a number > 0/,
    );
    expect(() => createParser({}, { maxEventSize: bad })).toThrow(RangeError);
  }
  const parser = createParser({}, { maxLineLength: Infinity, maxEventSize: Infinity });
  expect(() => parser.feed('data: x\n\n')).not.toThrow();
});

test('the default limits are generous: 8 Mi code units a line, 32 Mi an event', () => {
  expect(DEFAULT_MAX_LINE_LENGTH).toBe(8 * 1024 * 1024);
  expect(DEFAULT_MAX_EVENT_SIZE).toBe(32 * 1024 * 1024);
  const big = 'x'.repeat(1024 * 1024);
  const result = parseChunks([`data: ${big}\ndata: ${big}\n\n`]);
  expect(result.errors).toEqual([]);
  expect(result.events[0]?.data.length).toBe(2 * big.length + 1);
});
