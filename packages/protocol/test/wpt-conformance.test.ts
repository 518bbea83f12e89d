/**
 * The web-platform-tests eventsource/ byte-stream cases (fixtures/wpt-eventsource.json, BSD-3-Clause,
 * see fixtures/LICENSE-wpt.md), each run under every chunking, as bytes and as strings, through the
 * push parser; and once, whole and as served, through EventStreamParserStream.
 */
import { EventStreamParserStream, type ServerSentEvent } from '@tidings/protocol';
import { describe, expect, test } from 'vitest';
import { byteChunkings, type Chunking, stringChunkings } from './support/chunkings.js';
import { type Recording, recordingParser } from './support/record.js';
import { readAll, streamOf } from './support/streams.js';
import { bodyParts, type WptCase, wptCases } from './support/wpt-fixtures.js';

const encoder = new TextEncoder();

interface Outcome {
  events: ServerSentEvent[];
  retries: number[];
  lastEventId: string;
  /** parser.lastEventId when each connection after the first opened: the Last-Event-ID sent. */
  lastEventIdsSent: string[];
}

/**
 * Runs the connections of a case through one parser, `end()` between them, as an EventSource
 * does when it reconnects. `chunkingsOf(i)` gives the chunkings of connection i; `pick` which one.
 */
function run(
  testCase: WptCase,
  chunksOf: (connection: number) => (string | Uint8Array)[],
): Outcome & Pick<Recording, 'errors'> {
  const { parser, recording } = recordingParser();
  const lastEventIdsSent: string[] = [];
  testCase.connections.forEach((_, i) => {
    if (i > 0) lastEventIdsSent.push(parser.lastEventId);
    for (const chunk of chunksOf(i)) parser.feed(chunk);
    parser.end();
  });
  return {
    events: recording.events,
    retries: recording.retries,
    lastEventId: parser.lastEventId,
    lastEventIdsSent,
    errors: recording.errors,
  };
}

function expected(testCase: WptCase): Outcome & Pick<Recording, 'errors'> {
  return {
    events: testCase.events,
    retries: testCase.retries,
    lastEventId: testCase.lastEventId,
    lastEventIdsSent: testCase.connections.slice(1).map((c) => c.lastEventIdBefore ?? ''),
    errors: [],
  };
}

/**
 * Runs every chunking of one connection while the other connections are fed whole, so a
 * chunking bug shows up with the connection and chunking that caused it.
 */
function checkEveryChunking<T extends string | Uint8Array<ArrayBufferLike>>(
  testCase: WptCase,
  toInput: (parts: string[]) => { whole: T; served: T[] },
  chunkings: (whole: T, served: T[]) => Iterable<Chunking<T>>,
): number {
  const inputs = testCase.connections.map((c) => toInput(bodyParts(c)));
  const want = expected(testCase);
  let runs = 0;
  inputs.forEach((input, connection) => {
    for (const chunking of chunkings(input.whole, input.served)) {
      const got = run(testCase, (i) => (i === connection ? chunking.chunks : [inputs[i]!.whole]));
      expect(got, `connection ${connection + 1}, ${chunking.name}`).toEqual(want);
      runs++;
    }
  });
  return runs;
}

describe.each(wptCases)('$name', (testCase) => {
  test(`provenance: ${testCase.provenance}`, () => {
    expect(testCase.provenance).toMatch(/eventsource\//);
  });

  test('bytes, under every chunking', () => {
    const runs = checkEveryChunking(
      testCase,
      (parts) => {
        const served: Uint8Array[] = parts.map((p) => encoder.encode(p));
        return { whole: encoder.encode(parts.join('')), served };
      },
      (whole, served) => byteChunkings(whole, served),
    );
    expect(runs).toBeGreaterThan(testCase.connections.length);
  });

  test('strings, under every chunking', () => {
    const runs = checkEveryChunking(
      testCase,
      (parts) => ({ whole: parts.join(''), served: parts }),
      (whole, served) => stringChunkings(whole, served),
    );
    expect(runs).toBeGreaterThan(testCase.connections.length);
  });

  test('through EventStreamParserStream, one stream per connection', async () => {
    const events: ServerSentEvent[] = [];
    const retries: number[] = [];
    for (const connection of testCase.connections) {
      const stream = streamOf(bodyParts(connection).map((p) => encoder.encode(p)));
      const parserStream = new EventStreamParserStream({
        // A reconnecting client starts the new stream from the ID it sent.
        lastEventId: connection.lastEventIdBefore ?? '',
        onRetry: (ms) => retries.push(ms),
      });
      events.push(...(await readAll(stream.pipeThrough(parserStream))));
    }
    expect(events).toEqual(testCase.events);
    expect(retries).toEqual(testCase.retries);
  });
});

test('the fixture covers every byte-stream case named by the conformance issue', () => {
  const names = new Set(wptCases.map((c) => c.name.split(' ')[0]));
  for (const name of [
    'event-data',
    'format-bom',
    'format-bom-2',
    'format-comments',
    'format-data-before-final-empty-line',
    'format-field-data',
    'format-field-event',
    'format-field-event-empty',
    'format-field-parsing',
    'format-field-unknown',
    'format-field-retry',
    'format-field-retry-bogus',
    'format-field-retry-empty',
    'format-leading-space',
    'format-newlines',
    'format-null-character',
    'format-utf-8',
    'format-field-id',
    'format-field-id-2',
    'format-field-id-3',
    'format-field-id-null',
    'from-readable-stream',
  ]) {
    expect(names, name).toContain(name);
  }
  const nonNormative = wptCases.filter((c) => !c.normative);
  expect(nonNormative.every((c) => c.name.startsWith('from-readable-stream'))).toBe(true);
});
