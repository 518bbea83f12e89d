/**
 * Properties checked with fast-check on generated input: the encoder and the parser are inverse,
 * the parser never throws and does not care how its input is chunked, and on valid streams it
 * agrees with eventsource-parser wherever that one follows the spec (the rest is listed in
 * docs/protocol.md and pinned by eventsource-parser-differences.test.ts).
 */
import {
  type EventMessage,
  encodeComment,
  encodeEvent,
  type ParserOptions,
} from '@tidings/protocol';
import { createParser as createPeerParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { splitAt } from './support/chunkings.js';
import { parseChunks } from './support/record.js';

const encoder = new TextEncoder();
const RUNS = 300;

/** Cut points for an input of any length: positions are taken modulo the length. */
const cutPoints = fc.array(fc.nat(), { maxLength: 24 });
const cut = <T extends string | Uint8Array>(input: T, cuts: number[]): T[] =>
  splitAt(
    input,
    cuts.map((c) => c % (input.length + 1)),
  );

/** Any character but the three that end a field: CR, LF and NUL. */
const lineChar = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 1 })
  .filter((c) => !/[\r\n\0]/.test(c));
/** Text with line breaks of every kind and the characters the parser looks at. */
const multiLineText = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.constantFrom('\r', '\n', '\r\n', ':', ' ', '\uFEFF', '\0') },
  ),
  maxLength: 40,
});
const singleLineText = fc.string({ unit: lineChar, maxLength: 20 });

const eventMessage: fc.Arbitrary<EventMessage> = fc.record(
  {
    data: multiLineText,
    event: singleLineText,
    id: singleLineText,
    retry: fc.nat(),
  },
  { requiredKeys: [] },
);

describe('encode then parse', () => {
  test('returns the events that were encoded, as bytes or strings, however chunked', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            eventMessage,
            multiLineText.map((comment) => ({ comment })),
          ),
        ),
        cutPoints,
        fc.boolean(),
        (items, cuts, asBytes) => {
          let wire = '';
          const expectedEvents = [];
          const expectedRetries: number[] = [];
          const expectedComments: string[] = [];
          let lastEventId = '';
          for (const item of items) {
            if ('comment' in item) {
              wire += encodeComment(item.comment);
              expectedComments.push(
                ...(item.comment === '' ? [''] : item.comment.split(/\r\n|\r|\n/)),
              );
              continue;
            }
            wire += encodeEvent(item);
            if (item.retry !== undefined) expectedRetries.push(item.retry);
            if (item.id !== undefined) lastEventId = item.id;
            if (item.data !== undefined) {
              expectedEvents.push({
                type: item.event || 'message',
                // Every line break became a line of its own, and lines are joined with LF.
                data: item.data.replace(/\r\n|\r/g, '\n'),
                lastEventId,
              });
            }
          }
          const input = asBytes ? encoder.encode(wire) : wire;
          const result = parseChunks(cut(input, cuts));
          expect(result.events).toEqual(expectedEvents);
          expect(result.retries).toEqual(expectedRetries);
          expect(result.comments).toEqual(expectedComments);
          expect(result.lastEventId).toBe(lastEventId);
          expect(result.errors).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** Bytes that hit every branch of the parser: field names, separators, line ends, bad UTF-8. */
const hostileBytes = fc
  .array(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .constantFrom(
            'data',
            'data:',
            'data: ',
            'event:',
            'id:',
            'id: ',
            'retry:',
            'retry: 12',
            ':',
            ' ',
            'x',
            '0',
            '\r',
            '\n',
            '\r\n',
            '\n\n',
            '\r\r',
            '\0',
            '\uFEFF',
            '你',
            '😀',
          )
          .map((s) => encoder.encode(s)),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 6 }) },
      // Pieces of multi-byte sequences and bytes that are never valid UTF-8.
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(
            [0xe4],
            [0xe4, 0xbd],
            [0xf0, 0x9f],
            [0x80],
            [0xff],
            [0xef, 0xbb],
            [0xed, 0xa0, 0x80],
          )
          .map((b) => new Uint8Array(b)),
      },
    ),
    { maxLength: 60 },
  )
  .map((parts) => {
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    return bytes;
  });

/** Default limits, or limits small enough that the generated input hits them. */
const limits: fc.Arbitrary<ParserOptions> = fc.oneof(
  fc.constant({}),
  fc.record({
    maxLineLength: fc.integer({ min: 1, max: 40 }),
    maxEventSize: fc.integer({ min: 1, max: 60 }),
  }),
  fc.record({ lastEventId: singleLineText }),
);

describe('arbitrary input', () => {
  test('never makes the parser throw, and the result does not depend on the chunking', () => {
    fc.assert(
      fc.property(hostileBytes, cutPoints, limits, (bytes, cuts, options) => {
        const whole = parseChunks([bytes], options);
        expect(parseChunks(cut(bytes, cuts), options)).toEqual(whole);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('bytes parse exactly like their UTF-8 decoding (the BOM kept) fed as strings', () => {
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    fc.assert(
      fc.property(
        hostileBytes,
        cutPoints,
        cutPoints,
        limits,
        (bytes, byteCuts, textCuts, options) => {
          const text = decoder.decode(bytes);
          expect(parseChunks(cut(text, textCuts), options)).toEqual(
            parseChunks(cut(bytes, byteCuts), options),
          );
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  test('long non-ASCII chunks (decoded in TextDecoder streaming mode) parse like their decoding', () => {
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    const line = fc
      .string({ unit: 'binary', minLength: 200, maxLength: 900 })
      .map((t) => t.replace(/[\r\n]/g, ' '));
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 4, maxLength: 12 }),
        fc.array(fc.integer({ min: 1500, max: 5000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (lines, sizes, badBytePositions) => {
          const text = lines.map((l) => `data: ${l}\n\n`).join('');
          const bytes = encoder.encode(text);
          // Sprinkle invalid bytes in, so the streaming mode meets them too.
          for (const p of badBytePositions) bytes[p % bytes.length] = 0xff;
          const chunks: Uint8Array[] = [];
          for (let i = 0, k = 0; i < bytes.length; k++) {
            const size = sizes[k % sizes.length]!;
            chunks.push(bytes.subarray(i, i + size));
            i += size;
          }
          expect(parseChunks(chunks)).toEqual(parseChunks([decoder.decode(bytes)]));
        },
      ),
      { numRuns: 60, endOnFailure: true },
    );
  });

  test('strings with lone surrogates and any code unit never make it throw', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.string({ unit: 'binary', maxLength: 1 }),
            fc.constantFrom('\uD800', '\uDC00', '\r', '\n', ':'),
          ),
          maxLength: 80,
        }),
        cutPoints,
        limits,
        (text, cuts, options) => {
          expect(parseChunks(cut(text, cuts), options)).toEqual(parseChunks([text], options));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/**
 * A valid stream in the sense of the spec's grammar: lines of fields and comments, any line
 * ending, blocks ended by blank lines. It starts without a BOM and ends with LF or CRLF: those
 * two places are where eventsource-parser parts from the spec (see docs/protocol.md).
 */
const lineEnd = fc.constantFrom('\n', '\r\n', '\r');
const fieldLine = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('data', 'event', 'id', 'retry', 'Data', 'foo', 'data '),
      fc.constantFrom(':', ': ', ':  '),
      singleLineText,
    )
    .map(([name, separator, value]) => name + separator + value),
  fc
    .tuple(fc.constantFrom('retry: ', 'retry:'), fc.stringMatching(/^[0-9]{1,6}$/))
    .map(([f, v]) => f + v),
  fc.constantFrom('data', 'id', 'event'),
  singleLineText.map((text) => `:${text}`),
);
const validStream = fc
  .array(fc.tuple(fc.array(fc.tuple(fieldLine, lineEnd), { maxLength: 6 }), lineEnd), {
    minLength: 1,
    maxLength: 12,
  })
  .chain((blocks) =>
    fc.constantFrom('\n', '\r\n').map((finalEnd) => {
      let stream = '';
      blocks.forEach(([lines, blankLineEnd], i) => {
        for (const [line, end] of lines) stream += line + end;
        stream += i === blocks.length - 1 ? finalEnd : blankLineEnd;
      });
      return stream;
    }),
  );

function parseWithPeer(chunks: string[]) {
  const events: EventSourceMessage[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const parser = createPeerParser({
    onEvent: (e) => events.push(e),
    onRetry: (ms) => retries.push(ms),
    onComment: (text) => comments.push(text),
  });
  for (const chunk of chunks) parser.feed(chunk);
  return { events, retries, comments };
}

describe('against eventsource-parser 3', () => {
  test('gives the same types, data, retries and comments, and the same id wherever it sets one', () => {
    fc.assert(
      fc.property(validStream, cutPoints, fc.boolean(), (stream, cuts, asBytes) => {
        const bytes = encoder.encode(stream);
        const ours = asBytes ? parseChunks(cut(bytes, cuts)) : parseChunks(cut(stream, cuts));
        // For eventsource-parser, bytes means a streaming TextDecoder in front of it.
        const decoder = new TextDecoder();
        const peerChunks = asBytes
          ? [...cut(bytes, cuts).map((c) => decoder.decode(c, { stream: true })), decoder.decode()]
          : cut(stream, cuts);
        const peer = parseWithPeer(peerChunks);

        expect(ours.events.map((e) => [e.type, e.data])).toEqual(
          peer.events.map((e) => [e.event ?? 'message', e.data]),
        );
        // eventsource-parser only reports an id on the event whose block set it; where it
        // does, it must be the last event ID ours carries.
        peer.events.forEach((e, i) => {
          if (e.id !== undefined) expect(ours.events[i]?.lastEventId).toBe(e.id);
        });
        expect(ours.retries).toEqual(peer.retries);
        expect(ours.comments).toEqual(peer.comments);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
