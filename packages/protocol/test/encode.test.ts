import {
  type EventMessage,
  encodeComment,
  encodeCommentBytes,
  encodeEvent,
  encodeEventBytes,
} from '@tidings/protocol';
import { describe, expect, test } from 'vitest';
import { parseChunks } from './support/record.js';

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('encodeEvent', () => {
  test('writes id, event, retry and data, and ends with the blank line that dispatches', () => {
    expect(encodeEvent({ id: '7', event: 'update', retry: 3000, data: 'hello' })).toBe(
      'id: 7\nevent: update\nretry: 3000\ndata: hello\n\n',
    );
  });

  test.each([
    ['LF', 'a\nb', 'data: a\ndata: b\n\n'],
    ['CR', 'a\rb', 'data: a\ndata: b\n\n'],
    ['CRLF (once, not twice)', 'a\r\nb', 'data: a\ndata: b\n\n'],
    ['LF CR (twice)', 'a\n\rb', 'data: a\ndata: \ndata: b\n\n'],
    ['a trailing line break', 'a\n', 'data: a\ndata: \n\n'],
    ['only line breaks', '\r\n\n', 'data: \ndata: \ndata: \n\n'],
  ])('splits data on %s into one data line each', (_, data, wire) => {
    expect(encodeEvent({ data })).toBe(wire);
  });

  test('empty data is one empty data line, which a client dispatches as ""', () => {
    expect(encodeEvent({ data: '' })).toBe('data: \n\n');
    expect(parseChunks([encodeEvent({ data: '' })]).events).toEqual([
      { type: 'message', data: '', lastEventId: '' },
    ]);
  });

  test('a value starting with a space survives the one space a client strips', () => {
    const wire = encodeEvent({ event: ' spaced', data: '  two' });
    expect(parseChunks([wire]).events).toEqual([
      { type: ' spaced', data: '  two', lastEventId: '' },
    ]);
  });

  test('id-only and retry-only blocks are allowed', () => {
    expect(encodeEvent({ id: '42' })).toBe('id: 42\n\n');
    expect(encodeEvent({ retry: 0 })).toBe('retry: 0\n\n');
    const result = parseChunks([encodeEvent({ id: '42' }), encodeEvent({ retry: 10 })]);
    expect(result.events).toEqual([]);
    expect(result.lastEventId).toBe('42');
    expect(result.retries).toEqual([10]);
  });

  test("an empty id resets the client's last event ID", () => {
    expect(encodeEvent({ id: '' })).toBe('id\n\n');
    const result = parseChunks([encodeEvent({ id: '1', data: 'a' }), encodeEvent({ id: '' })]);
    expect(result.lastEventId).toBe('');
  });

  test.each([
    ['event', { event: 'a\nb' }],
    ['event', { event: 'a\rb' }],
    // A client would keep a NUL in the type, but no server has a reason to send one.
    ['event', { event: 'a\0b' }],
    ['id', { id: 'a\nevent: forged' }],
    ['id', { id: 'a\r\n\r\ndata: forged' }],
    ['id', { id: 'a\0b' }],
  ] satisfies [string, EventMessage][])(
    'refuses a %s with a line break or NUL: a TypeError naming the field',
    (field, message) => {
      expect(() => encodeEvent({ ...message, data: 'x' })).toThrow(TypeError);
      expect(() => encodeEvent({ ...message, data: 'x' })).toThrow(`"${field}"`);
    },
  );

  test.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])(
    'refuses retry %s: a TypeError naming the field',
    (retry) => {
      expect(() => encodeEvent({ retry })).toThrow(TypeError);
      expect(() => encodeEvent({ retry })).toThrow('"retry"');
    },
  );

  test('an empty message is a lone blank line, which dispatches nothing', () => {
    expect(encodeEvent({})).toBe('\n');
    expect(parseChunks([encodeEvent({})]).events).toEqual([]);
  });

  test('data cannot forge a second event', () => {
    const wire = encodeEvent({ data: 'a\n\nevent: admin\ndata: forged\r\rid: 666' });
    expect(parseChunks([wire]).events).toEqual([
      {
        type: 'message',
        data: 'a\n\nevent: admin\ndata: forged\n\nid: 666',
        lastEventId: '',
      },
    ]);
  });
});

describe('encodeComment', () => {
  test('writes one comment line per line of text, without a blank line', () => {
    expect(encodeComment()).toBe(':\n');
    expect(encodeComment('')).toBe(':\n');
    expect(encodeComment('ping')).toBe(': ping\n');
    expect(encodeComment('a\nb\r\nc\rd')).toBe(': a\n: b\n: c\n: d\n');
  });

  test('a comment between fields does not end the event', () => {
    const wire = `data: a\n${encodeComment('keep-alive\nsecond line')}data: b\n\n`;
    const result = parseChunks([wire]);
    expect(result.events).toEqual([{ type: 'message', data: 'a\nb', lastEventId: '' }]);
    expect(result.comments).toEqual(['keep-alive', 'second line']);
  });
});

describe('bytes', () => {
  test('encodeEventBytes and encodeCommentBytes are the UTF-8 of the strings', () => {
    const message = { id: '你好', event: 'ünï', data: 'emoji 😀\nline 2' };
    expect(encodeEventBytes(message)).toBeInstanceOf(Uint8Array);
    expect(decode(encodeEventBytes(message))).toBe(encodeEvent(message));
    expect(decode(encodeCommentBytes('注释\nx'))).toBe(encodeComment('注释\nx'));
    expect(decode(encodeCommentBytes())).toBe(':\n');
  });

  test('validate like the string encoders', () => {
    expect(() => encodeEventBytes({ id: 'a\nb' })).toThrow(TypeError);
  });
});
