import { createParser, type ServerSentEvent } from '@tidings/protocol';
import { describe, expect, test } from 'vitest';
import { byteChunkings, stringChunkings } from './support/chunkings.js';
import { parseChunks, recordingParser } from './support/record.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const message = (data: string, lastEventId = '', type = 'message'): ServerSentEvent => ({
  type,
  data,
  lastEventId,
});

describe('line endings', () => {
  test('a CR dispatches at once: the event does not wait for the next chunk', () => {
    for (const input of ['data: a\r\r', bytes('data: a\r\r')]) {
      const { parser, recording } = recordingParser();
      parser.feed(input);
      expect(recording.events).toEqual([message('a')]);
    }
  });

  test('a CR ends a comment, a retry and an id line at once too', () => {
    const { parser, recording } = recordingParser();
    parser.feed(': ping\r');
    expect(recording.comments).toEqual(['ping']);
    parser.feed('retry: 5\r');
    expect(recording.retries).toEqual([5]);
    parser.feed('id: 7\r\r');
    expect(parser.lastEventId).toBe('7');
  });

  test('an LF right after a CR is not another line, even when it comes in the next chunk', () => {
    const { parser, recording } = recordingParser();
    parser.feed('data: a\r');
    parser.feed('\n');
    parser.feed('data: b\r\n\r\n');
    // Had the LF been a blank line of its own, "a" and "b" would be two events.
    expect(recording.events).toEqual([message('a\nb')]);
  });

  test('empty chunks between the CR and its LF change nothing', () => {
    const { parser, recording } = recordingParser();
    parser.feed(bytes('data: a\r'));
    parser.feed('');
    parser.feed(new Uint8Array(0));
    parser.feed(bytes('\ndata: b\r\n\r\n'));
    expect(recording.events).toEqual([message('a\nb')]);
  });

  test('only one LF is swallowed after a CR at the end of a chunk', () => {
    const { parser, recording } = recordingParser();
    parser.feed('data: a\r');
    parser.feed('\n\n');
    expect(recording.events).toEqual([message('a')]);
  });

  test('a CR at the end of a chunk followed by text starts a new line', () => {
    const { parser, recording } = recordingParser();
    parser.feed('data: a\r');
    parser.feed('data: b\n\n');
    expect(recording.events).toEqual([message('a\nb')]);
  });

  test('an LF-only chunk after a CR-terminated one: its leading LF is swallowed, the rest parsed', () => {
    const result = parseChunks(['data: a\r', '\ndata: b\n\ndata: c\n', '\n']);
    expect(result.events).toEqual([message('a\nb'), message('c')]);
  });

  test('a one-line event and its blank line, however an LF-only stream is cut', () => {
    const text = 'data: 1\n\ndata:2\n\nid: 7\ndata: 3\n\n: note\ndata: 4\ndata: 5\n\n';
    const expected = [message('1'), message('2'), message('3', '7'), message('4\n5', '7')];
    for (const chunking of stringChunkings(text, undefined, 2)) {
      expect(parseChunks(chunking.chunks).events, chunking.name).toEqual(expected);
    }
    for (const chunking of byteChunkings(bytes(text), undefined, 2)) {
      expect(parseChunks(chunking.chunks).events, chunking.name).toEqual(expected);
    }
  });

  test('CR, LF and CRLF mix freely in one stream', () => {
    const result = parseChunks(['data: 1\rdata: 2\ndata: 3\r\n\r', 'data: 4\n\r\ndata: 5\r\r']);
    expect(result.events).toEqual([message('1\n2\n3'), message('4'), message('5')]);
  });
});

describe('fields', () => {
  test('field names compare exactly: Data, DATA, "data " and datas are not data', () => {
    const result = parseChunks(['Data: 1\nDATA: 2\ndata : 3\ndatas: 4\n\n']);
    expect(result.events).toEqual([]);
  });

  test('exactly one leading space is removed from the value', () => {
    const result = parseChunks(['data:  two\ndata:none\ndata:\tTab\n\n']);
    expect(result.events).toEqual([message(' two\nnone\n\tTab')]);
  });

  test('a line without a colon is a field name with an empty value', () => {
    const result = parseChunks(['event: custom\nevent\ndata\ndata\n\n']);
    // `event` with no value resets the type; two empty data lines make data "\n".
    expect(result.events).toEqual([message('\n')]);
  });

  test('only the first colon separates the name from the value', () => {
    const result = parseChunks(['data: a: b:c\n\n']);
    expect(result.events).toEqual([message('a: b:c')]);
  });

  test('the last event field of a block wins; the type does not carry to the next block', () => {
    const result = parseChunks(['event: a\nevent: b\ndata: 1\n\ndata: 2\n\n']);
    expect(result.events).toEqual([message('1', '', 'b'), message('2')]);
  });

  test('an event type with spaces or unicode is kept as it is', () => {
    const result = parseChunks(['event:  spaced out \ndata: x\n\nevent: 更新\ndata: y\n\n']);
    expect(result.events).toEqual([message('x', '', ' spaced out '), message('y', '', '更新')]);
  });

  test('a block without data dispatches nothing and resets the type', () => {
    const result = parseChunks(['event: a\n\ndata: 1\n\n']);
    expect(result.events).toEqual([message('1')]);
  });

  test('unknown fields are ignored', () => {
    const result = parseChunks(['foo: bar\nretryx: 1\nids: 2\ndata: ok\n\n']);
    expect(result.events).toEqual([message('ok')]);
    expect(result.retries).toEqual([]);
    expect(result.lastEventId).toBe('');
  });
});

describe('comments', () => {
  test('reach onComment without the colon and one leading space, and do not dispatch', () => {
    const result = parseChunks([':\n: ping\n:  two spaces\n:no space\ndata: x\n: inside\n\n']);
    expect(result.comments).toEqual(['', 'ping', ' two spaces', 'no space', 'inside']);
    expect(result.events).toEqual([message('x')]);
  });

  test('are ignored without an onComment callback', () => {
    const events: ServerSentEvent[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    parser.feed(': heartbeat\n\ndata: x\n\n');
    expect(events).toEqual([message('x')]);
  });
});

describe('last event ID', () => {
  test('persists across events until an id field changes it', () => {
    const result = parseChunks(['id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n']);
    expect(result.events).toEqual([message('a', '1'), message('b', '1'), message('c', '2')]);
    expect(result.lastEventId).toBe('2');
  });

  test('an id-only block commits the ID without dispatching an event', () => {
    const { parser, recording } = recordingParser();
    parser.feed('data: a\n\nid: 5\n\n');
    expect(recording.events).toEqual([message('a')]);
    expect(parser.lastEventId).toBe('5');
    parser.feed('data: b\n\n');
    expect(recording.events[1]).toEqual(message('b', '5'));
  });

  test('an empty id field resets it', () => {
    const result = parseChunks(['id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\n\nid:\n\n']);
    expect(result.events).toEqual([message('a', '1'), message('b', '')]);
    expect(result.lastEventId).toBe('');
  });

  test('an id containing NUL is ignored: the previous ID stays', () => {
    const result = parseChunks(['id: 1\ndata: a\n\nid: x\0y\ndata: b\n\nid: \0\n\n']);
    expect(result.events).toEqual([message('a', '1'), message('b', '1')]);
    expect(result.lastEventId).toBe('1');
  });

  test('the id is only committed by the blank line that ends its block', () => {
    const { parser } = recordingParser();
    parser.feed('id: 9\ndata: x\n');
    expect(parser.lastEventId).toBe('');
    parser.feed('\n');
    expect(parser.lastEventId).toBe('9');
  });

  test('starts from options.lastEventId', () => {
    const result = parseChunks(['data: a\n\nid: 4\ndata: b\n\n'], { lastEventId: '3' });
    expect(result.events).toEqual([message('a', '3'), message('b', '4')]);
  });
});

describe('retry', () => {
  test('is reported for ASCII digits only, in base ten', () => {
    const result = parseChunks([
      'retry: 1000\nretry: 007\nretry: 0\nretry:5\n',
      'retry: -1\nretry: 1e3\nretry: 1.5\nretry:  10\nretry: 10 \nretry: \nretry\nretry: ١٢\nRetry: 9\n\n',
    ]);
    expect(result.retries).toEqual([1000, 7, 0, 5]);
  });

  test('is reported when its line ends, even when the event is never dispatched', () => {
    const { parser, recording } = recordingParser();
    parser.feed('retry: 250\ndata: never finished\n');
    expect(recording.retries).toEqual([250]);
    parser.end();
    expect(recording.events).toEqual([]);
  });

  test('a value too long for a safe integer is still a number (consumers clamp it)', () => {
    const result = parseChunks([`retry: ${'9'.repeat(30)}\n\n`]);
    expect(result.retries).toEqual([1e30]);
  });
});

describe('end()', () => {
  test('discards the unfinished event and the unterminated line', () => {
    const { parser, recording } = recordingParser();
    parser.feed('data: complete\n\ndata: pending\ndata: half a li');
    parser.end();
    expect(recording.events).toEqual([message('complete')]);
    parser.feed('ne\n\n');
    // "ne" belongs to the new stream: a data-less line of an unknown field.
    expect(recording.events).toEqual([message('complete')]);
  });

  test('keeps the committed ID; an ID from an unterminated block is not committed', () => {
    const { parser, recording } = recordingParser();
    parser.feed('id: 1\ndata: a\n\nid: 2\ndata: b\n');
    parser.end();
    expect(parser.lastEventId).toBe('1');
    parser.feed('data: c\n\n');
    expect(recording.events).toEqual([message('a', '1'), message('c', '1')]);
  });

  test('an event type from an unterminated block does not leak into the next stream', () => {
    const { parser, recording } = recordingParser();
    parser.feed('event: stale\n');
    parser.end();
    parser.feed('data: x\n\n');
    expect(recording.events).toEqual([message('x')]);
  });

  test('a CR at the end of the last stream does not swallow an LF that starts the next one', () => {
    const { parser, recording } = recordingParser();
    parser.feed('data: a\r');
    parser.end();
    parser.feed('\ndata: b\n\n');
    // The LF starts the new stream as a blank line (nothing pending), then "b" is dispatched.
    expect(recording.events).toEqual([message('b')]);
  });

  test('a new stream may start with its own BOM, and a truncated character is dropped', () => {
    const { parser, recording } = recordingParser();
    parser.feed(bytes('\uFEFFdata: 1\n\n'));
    parser.feed(new Uint8Array([0x64, 0xe4, 0xbd])); // "d" and two of the three bytes of "你"
    parser.end();
    parser.feed(bytes('\uFEFFdata: 2\n\n'));
    expect(recording.events).toEqual([message('1'), message('2')]);
  });
});

describe('byte order mark', () => {
  test('one leading BOM is stripped, as text and as bytes, however it is split', () => {
    const text = '\uFEFFdata: x\n\n';
    for (const chunking of stringChunkings(text, undefined, 2)) {
      expect(parseChunks(chunking.chunks).events, chunking.name).toEqual([message('x')]);
    }
    for (const chunking of byteChunkings(bytes(text), undefined, 2)) {
      expect(parseChunks(chunking.chunks).events, chunking.name).toEqual([message('x')]);
    }
  });

  test('a second BOM is part of the first field name, so that line is ignored', () => {
    expect(parseChunks(['\uFEFF\uFEFFdata: x\n\ndata: y\n\n']).events).toEqual([message('y')]);
    expect(parseChunks([bytes('\uFEFF\uFEFFdata: x\n\ndata: y\n\n')]).events).toEqual([
      message('y'),
    ]);
  });

  test('a BOM after the start of the stream is not stripped', () => {
    expect(parseChunks(['data: a\n\n\uFEFFdata: b\n\n']).events).toEqual([message('a')]);
    expect(parseChunks(['data: \uFEFFa\n\n']).events).toEqual([message('\uFEFFa')]);
  });
});

describe('UTF-8 decoding', () => {
  test('a multi-byte character split across chunks decodes whole', () => {
    const encoded = bytes('data: 你好 😀\n\n');
    for (const chunking of byteChunkings(encoded, undefined, 4)) {
      expect(parseChunks(chunking.chunks).events, chunking.name).toEqual([message('你好 😀')]);
    }
  });

  test.each([
    ['a lone continuation byte', [0x80], '\uFFFD'],
    ['an invalid byte', [0xff], '\uFFFD'],
    ['a truncated sequence before the line end', [0xe4, 0xbd], '\uFFFD'],
    ['an overlong encoding', [0xc0, 0xaf], '\uFFFD\uFFFD'],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], '\uFFFD\uFFFD\uFFFD'],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], '\uFFFD\uFFFD\uFFFD\uFFFD'],
    ['a truncated sequence before an ASCII byte', [0xf0, 0x9f, 0x98, 0x41], '\uFFFDA'],
  ])('%s becomes U+FFFD', (_, invalid, decoded) => {
    const input = new Uint8Array([...bytes('data: <'), ...invalid, ...bytes('>\n\n')]);
    for (const chunking of byteChunkings(input, undefined, 2)) {
      expect(parseChunks(chunking.chunks).events, chunking.name).toEqual([message(`<${decoded}>`)]);
    }
  });

  test('is UTF-8 always: Latin-1 bytes are not reinterpreted', () => {
    const result = parseChunks([new Uint8Array([...bytes('data: caf'), 0xe9, 0x0a, 0x0a])]);
    expect(result.events).toEqual([message('caf\uFFFD')]);
  });

  test('strings and bytes may be mixed; a pending partial character is flushed as U+FFFD', () => {
    const { parser, recording } = recordingParser();
    parser.feed(bytes('data: a'));
    parser.feed(new Uint8Array([0xe4]));
    parser.feed('b\n');
    parser.feed(bytes('data: 你\n\n'));
    expect(recording.events).toEqual([message('a\uFFFDb\n你')]);
  });
});

describe('NUL and other control characters', () => {
  test('are kept in data and event types', () => {
    const result = parseChunks(['event: a\0b\ndata: \0\x01\x7f\n\n']);
    expect(result.events).toEqual([message('\0\x01\x7f', '', 'a\0b')]);
  });
});

describe('callbacks', () => {
  test('every callback is optional', () => {
    const parser = createParser({});
    expect(() => {
      parser.feed('retry: 1\n: c\nid: 1\ndata: x\n\n');
      parser.end();
    }).not.toThrow();
    expect(parser.lastEventId).toBe('1');
  });

  test('an exception thrown by a callback reaches the caller of feed', () => {
    const parser = createParser({
      onEvent() {
        throw new Error('from the callback');
      },
    });
    expect(() => parser.feed('data: x\n\n')).toThrow('from the callback');
  });

  test('callbacks see each event before the next line is parsed', () => {
    const { parser, recording } = recordingParser();
    parser.feed('data: 1\n\n: between\nretry: 3\ndata: 2\n\n');
    expect(recording.log).toEqual([
      'event {"type":"message","data":"1","lastEventId":""}',
      'comment "between"',
      'retry 3',
      'event {"type":"message","data":"2","lastEventId":""}',
    ]);
  });
});

describe('parser objects', () => {
  test('every parser has the same methods, so a loop over streams keeps its optimized code', () => {
    const first = createParser({});
    const second = createParser({});
    expect(second.feed).toBe(first.feed);
    expect(second.end).toBe(first.end);
  });

  test('two parsers keep apart what they were fed', () => {
    const first = recordingParser();
    const second = recordingParser();
    first.parser.feed('id: 1\ndata: a');
    second.parser.feed('id: 2\ndata: b\n\n');
    first.parser.feed('\n\n');
    expect(first.recording.events).toEqual([message('a', '1')]);
    expect(second.recording.events).toEqual([message('b', '2')]);
    expect([first.parser.lastEventId, second.parser.lastEventId]).toEqual(['1', '2']);
  });
});
