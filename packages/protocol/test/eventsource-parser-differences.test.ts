/**
 * Each intentional difference from eventsource-parser 3 listed in docs/protocol.md, shown on
 * both parsers: if eventsource-parser changes, or ours does, the list is no longer true and a
 * test here fails.
 */
import { createParser, type ServerSentEvent } from '@tidings/protocol';
import {
  createParser as createPeerParser,
  type EventSourceMessage,
  type ParseError as PeerParseError,
} from 'eventsource-parser';
import { describe, expect, test } from 'vitest';
import { recordingParser } from './support/record.js';

function peerParser(options: { maxBufferSize?: number } = {}) {
  const events: EventSourceMessage[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const errors: PeerParseError[] = [];
  const parser = createPeerParser({
    onEvent: (e) => events.push(e),
    onRetry: (ms) => retries.push(ms),
    onComment: (text) => comments.push(text),
    onError: (error) => errors.push(error),
    ...options,
  });
  return { parser, events, retries, comments, errors };
}

const message = (data: string, lastEventId = ''): ServerSentEvent => ({
  type: 'message',
  data,
  lastEventId,
});

describe('the last event ID', () => {
  test('persists across events in ours; eventsource-parser reports an id only on its own block', () => {
    const input = 'id: 1\ndata: a\n\ndata: b\n\n';
    const ours = recordingParser();
    ours.parser.feed(input);
    expect(ours.recording.events).toEqual([message('a', '1'), message('b', '1')]);
    const peer = peerParser();
    peer.parser.feed(input);
    expect(peer.events.map((e) => e.id)).toEqual(['1', undefined]);
  });

  test('an id-only block commits the ID in ours; eventsource-parser forgets it', () => {
    const input = 'id: 7\n\ndata: x\n\n';
    const ours = recordingParser();
    ours.parser.feed(input);
    expect(ours.recording.events).toEqual([message('x', '7')]);
    expect(ours.parser.lastEventId).toBe('7');
    const peer = peerParser();
    peer.parser.feed(input);
    expect(peer.events).toEqual([{ id: undefined, event: undefined, data: 'x' }]);
  });

  test('an id with NUL is ignored by both, so ours keeps the previous ID and eventsource-parser has none', () => {
    const input = 'id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n';
    const ours = recordingParser();
    ours.parser.feed(input);
    expect(ours.recording.events[1]).toEqual(message('b', '1'));
    const peer = peerParser();
    peer.parser.feed(input);
    expect(peer.events[1]?.id).toBeUndefined();
  });
});

describe('the byte order mark', () => {
  test('a leading U+FEFF in string input is stripped by ours; eventsource-parser keeps it and loses the first event', () => {
    const input = '\uFEFFdata: first\n\ndata: second\n\n';
    const ours = recordingParser();
    ours.parser.feed(input);
    expect(ours.recording.events).toEqual([message('first'), message('second')]);
    const peer = peerParser();
    peer.parser.feed(input);
    expect(peer.events.map((e) => e.data)).toEqual(['second']);
    expect(peer.errors.map((e) => e.type)).toEqual(['unknown-field']);
  });

  test('eventsource-parser strips the three characters "ï»¿" (a BOM read as Latin-1); ours keeps them', () => {
    const input = '\u00EF\u00BB\u00BFdata: x\n\n';
    const ours = recordingParser();
    ours.parser.feed(input);
    expect(ours.recording.events).toEqual([]);
    const peer = peerParser();
    peer.parser.feed(input);
    expect(peer.events.map((e) => e.data)).toEqual(['x']);
  });
});

describe('a CR at the end of a chunk', () => {
  test('dispatches at once in ours; eventsource-parser waits for a later chunk with a line break', () => {
    const ours = recordingParser();
    ours.parser.feed('data: x\r\r');
    expect(ours.recording.events).toEqual([message('x')]);
    const peer = peerParser();
    peer.parser.feed('data: x\r\r');
    expect(peer.events).toEqual([]);
    peer.parser.feed('data: y');
    expect(peer.events).toEqual([]);
    peer.parser.feed('\n');
    expect(peer.events.map((e) => e.data)).toEqual(['x']);
  });
});

describe('comments', () => {
  test('both strip exactly one leading space (no difference)', () => {
    const input = ':x\n: x\n:  x\n:\n';
    const ours = recordingParser();
    ours.parser.feed(input);
    const peer = peerParser();
    peer.parser.feed(input);
    expect(ours.recording.comments).toEqual(['x', 'x', ' x', '']);
    expect(peer.comments).toEqual(ours.recording.comments);
  });
});

describe('what counts as an error', () => {
  test('an invalid retry and an unknown field are silently ignored by ours, as the spec says; eventsource-parser reports them', () => {
    const input = 'retry: soon\nfoo: bar\ndata: x\n\n';
    const ours = recordingParser();
    ours.parser.feed(input);
    expect(ours.recording.errors).toEqual([]);
    expect(ours.recording.events).toEqual([message('x')]);
    const peer = peerParser();
    peer.parser.feed(input);
    expect(peer.errors.map((e) => e.type)).toEqual(['invalid-retry', 'unknown-field']);
    expect(peer.events.map((e) => e.data)).toEqual(['x']);
  });

  test('over a limit, ours drops the event and goes on; eventsource-parser refuses all input until reset()', () => {
    const ours = recordingParser({ maxLineLength: 16 });
    ours.parser.feed('data: far too long for the limit\n\ndata: next\n\n');
    expect(ours.recording.errors).toEqual(['line-too-long:16']);
    expect(ours.recording.events).toEqual([message('next')]);

    const peer = peerParser({ maxBufferSize: 16 });
    peer.parser.feed('data: far too long for the limit');
    expect(peer.errors.map((e) => e.type)).toEqual(['max-buffer-size-exceeded']);
    expect(() => peer.parser.feed('\n\ndata: next\n\n')).toThrow(/reset/);
  });

  test('by default ours caps lines and events; eventsource-parser buffers without a cap', () => {
    const ours = recordingParser({ maxLineLength: 1024 });
    const peer = peerParser();
    const huge = 'x'.repeat(4096);
    ours.parser.feed(`data: ${huge}`);
    peer.parser.feed(`data: ${huge}`);
    expect(ours.recording.errors).toEqual(['line-too-long:1024']);
    expect(peer.errors).toEqual([]);
  });
});

describe('the end of a stream', () => {
  test('end() in ours discards an unterminated line; reset({ consume: true }) in eventsource-parser parses it', () => {
    const ours = recordingParser();
    ours.parser.feed('data: a\n\nretry: 500');
    ours.parser.end();
    expect(ours.recording.retries).toEqual([]);
    const peer = peerParser();
    peer.parser.feed('data: a\n\nretry: 500');
    peer.parser.reset({ consume: true });
    expect(peer.retries).toEqual([500]);
  });
});

describe('input and output shapes', () => {
  test('ours takes bytes and decodes them as UTF-8; eventsource-parser takes strings only', () => {
    const bytes = new TextEncoder().encode('data: 你好\n\n');
    const ours = recordingParser();
    ours.parser.feed(bytes.subarray(0, 8));
    ours.parser.feed(bytes.subarray(8));
    expect(ours.recording.events).toEqual([message('你好')]);
    const peer = peerParser();
    expect(() => peer.parser.feed(bytes as unknown as string)).toThrow(TypeError);
  });

  test('ours reports { type, data, lastEventId } with type "message" by default; eventsource-parser { event?, id?, data }', () => {
    const events: unknown[] = [];
    createParser({ onEvent: (e) => events.push(e) }).feed('event:\ndata: x\n\n');
    expect(events).toEqual([{ type: 'message', data: 'x', lastEventId: '' }]);
    const peer = peerParser();
    peer.parser.feed('event:\ndata: x\n\n');
    expect(peer.events).toEqual([{ id: undefined, event: undefined, data: 'x' }]);
  });
});
