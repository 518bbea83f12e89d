/**
 * One row of the protocol benchmark: what is measured, how it is measured, and the target it
 * must meet. Each row runs in a child process of its own, so the JIT state one row leaves behind
 * (say, a parser tuned for bytes) cannot help or hurt the next one.
 */
import { encodeEvent, encodeEventBytes } from '@tidings/protocol';
import {
  type Chunks,
  type Contender,
  ours,
  PEER_NAME,
  peer,
  peerBehindClass,
  type Tally,
} from './contenders.js';
import { buildCorpora, CORPUS_KEYS, type Corpus } from './corpora.js';
import { buildMessages, templateEvent } from './encoder-messages.js';
import { buildEvents, chunkAtLineEnds, planLines } from './event-building.js';
import { splitLinesOnly } from './line-splitting.js';
import { type Comparison, compare, type MeasureOptions } from './measure.js';

export type RowSpec =
  | { kind: 'parser'; corpus: Corpus['key']; input: 'strings' | 'bytes'; chunkSize: number }
  | { kind: 'line-splitting'; corpus: Corpus['key']; chunkSize: number }
  | { kind: 'event-building'; corpus: Corpus['key']; chunkSize: number }
  | { kind: 'peer-behind-class'; corpus: Corpus['key']; chunkSize: number }
  | { kind: 'encoder'; output: 'strings' | 'bytes' };

export interface RowResult {
  spec: RowSpec;
  label: string;
  peer: string;
  /** The least ratio the row must reach, or undefined when it has no target. */
  target: number | undefined;
  comparison: Comparison;
}

export const PARSER_CHUNK_SIZES = [16 * 1024, 64];

export function allRows(): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const corpus of CORPUS_KEYS) {
    for (const chunkSize of PARSER_CHUNK_SIZES) {
      for (const input of ['strings', 'bytes'] as const) {
        rows.push({ kind: 'parser', corpus, input, chunkSize });
      }
    }
  }
  rows.push({ kind: 'line-splitting', corpus: 'c', chunkSize: 16 * 1024 });
  rows.push({ kind: 'event-building', corpus: 'c', chunkSize: 16 * 1024 });
  for (const corpus of ['a', 'd', 'e'] as const) {
    rows.push({ kind: 'peer-behind-class', corpus, chunkSize: 64 });
  }
  rows.push({ kind: 'encoder', output: 'strings' }, { kind: 'encoder', output: 'bytes' });
  return rows;
}

/**
 * Every parser row must be at least as fast as eventsource-parser, in its median and, by CPU
 * time, in its slowest round too (the aim is 1.3×). Higher targets set before (1.5× on 64-byte
 * chunks, 3× on CRLF streams) are held back by the bounds the two bound rows measure; see
 * docs/protocol.md.
 */
export function targetOf(spec: RowSpec): number | undefined {
  return spec.kind === 'parser' ? 1 : undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function chunkBytes(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
  return chunks;
}

/**
 * Cuts the text every `size` UTF-16 code units. Each chunk is decoded from its own bytes, so it
 * is a flat string of its own, as a network read gives, not a view into the whole corpus.
 */
function chunkText(text: string, size: number): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += size) chunks.push(ownString(text.slice(i, i + size)));
  return chunks;
}

/** A flat copy of `text` that shares nothing with the corpus, as a network read gives. */
function ownString(text: string): string {
  return decoder.decode(encoder.encode(text));
}

function sameTally(a: Tally, b: Tally): boolean {
  return (
    a.events === b.events &&
    a.dataChars === b.dataChars &&
    a.sample === b.sample &&
    a.retries === b.retries &&
    a.comments === b.comments
  );
}

function measureParser(
  spec: Extract<RowSpec, { kind: 'parser' }>,
  options: MeasureOptions,
): RowResult {
  const corpus = buildCorpora().find((c) => c.key === spec.corpus)!;
  const bytes = encoder.encode(corpus.text);
  const chunks: Chunks =
    spec.input === 'bytes'
      ? chunkBytes(bytes, spec.chunkSize)
      : chunkText(corpus.text, spec.chunkSize);
  const run = (contender: Contender) => () => contender(chunks);
  const ourTally = ours(chunks);
  const peerTally = peer(chunks);
  if (!sameTally(ourTally, peerTally) || ourTally.events === 0) {
    throw new Error(
      `corpus ${spec.corpus}: the parsers disagree (${JSON.stringify(ourTally)} vs ${JSON.stringify(peerTally)})`,
    );
  }
  const size = spec.chunkSize >= 1024 ? `${spec.chunkSize / 1024} KiB` : `${spec.chunkSize} B`;
  return {
    spec,
    label: `(${corpus.key}) ${corpus.title}, ${spec.input}, ${size} chunks`,
    peer: PEER_NAME,
    target: targetOf(spec),
    comparison: compare(run(ours), run(peer), bytes.length, options),
  };
}

function measureEncoder(
  spec: Extract<RowSpec, { kind: 'encoder' }>,
  options: MeasureOptions,
): RowResult {
  const messages = buildMessages(20_000);
  const wire = messages.map(encodeEvent).join('');
  if (wire !== messages.map(templateEvent).join('')) {
    throw new Error('encodeEvent and the template disagree on the benchmark messages');
  }
  const outputBytes = encoder.encode(wire).length;
  // As with the parser rows, the consumer reads the string (a socket write would), so the
  // cost of flattening the concatenations is counted where it is paid.
  let sink = 0;
  const use = (s: string) => {
    sink += s.charCodeAt(s.length >> 1);
  };
  const comparison =
    spec.output === 'strings'
      ? compare(
          () => {
            for (const m of messages) use(encodeEvent(m));
          },
          () => {
            for (const m of messages) use(templateEvent(m));
          },
          outputBytes,
          options,
        )
      : compare(
          () => {
            for (const m of messages) sink += encodeEventBytes(m).length;
          },
          () => {
            for (const m of messages) sink += encoder.encode(templateEvent(m)).length;
          },
          outputBytes,
          options,
        );
  if (sink === 0) throw new Error('the encoder produced nothing');
  return {
    spec,
    label: `encoder, ${spec.output === 'strings' ? 'encodeEvent' : 'encodeEventBytes'} (MB/s of output)`,
    peer: spec.output === 'strings' ? 'template string' : 'TextEncoder(template string)',
    target: undefined,
    comparison,
  };
}

/** See line-splitting.ts: the bound for any parser on the same chunks. */
function measureLineSplitting(
  spec: Extract<RowSpec, { kind: 'line-splitting' }>,
  options: MeasureOptions,
): RowResult {
  const corpus = buildCorpora().find((c) => c.key === spec.corpus)!;
  const chunks = chunkText(corpus.text, spec.chunkSize);
  return {
    spec,
    label: `(${corpus.key}) strings, ${spec.chunkSize / 1024} KiB chunks: finding line ends only, no parsing (the bound)`,
    peer: PEER_NAME,
    target: undefined,
    comparison: compare(
      () => splitLinesOnly(chunks),
      () => peer(chunks),
      encoder.encode(corpus.text).length,
      options,
    ),
  };
}

/**
 * See event-building.ts: the other bound, on chunks of about the same size that end at line
 * ends (so that no line spans two chunks and all the planning happens before timing).
 */
function measureEventBuilding(
  spec: Extract<RowSpec, { kind: 'event-building' }>,
  options: MeasureOptions,
): RowResult {
  const corpus = buildCorpora().find((c) => c.key === spec.corpus)!;
  const chunks = chunkAtLineEnds(corpus.text, spec.chunkSize).map(ownString);
  const planned = planLines(chunks);
  const built = buildEvents(planned);
  const peerTally = peer(chunks);
  if (!sameTally(built, peerTally)) {
    throw new Error(
      `event building disagrees with the peer (${JSON.stringify(built)} vs ${JSON.stringify(peerTally)})`,
    );
  }
  return {
    spec,
    label: `(${corpus.key}) strings, ${spec.chunkSize / 1024} KiB chunks: building the events only, lines found for free (the bound)`,
    peer: PEER_NAME,
    target: undefined,
    comparison: compare(
      () => buildEvents(planned),
      () => peer(chunks),
      encoder.encode(corpus.text).length,
      options,
    ),
  };
}

/**
 * Ours against the peer behind a class (contenders.ts), on strings: how much of our lead on a
 * row comes from the peer's callers being deoptimized at each new parser.
 */
function measurePeerBehindClass(
  spec: Extract<RowSpec, { kind: 'peer-behind-class' }>,
  options: MeasureOptions,
): RowResult {
  const corpus = buildCorpora().find((c) => c.key === spec.corpus)!;
  const chunks = chunkText(corpus.text, spec.chunkSize);
  if (!sameTally(ours(chunks), peerBehindClass(chunks))) {
    throw new Error(`corpus ${spec.corpus}: the peer behind a class disagrees with ours`);
  }
  return {
    spec,
    label: `(${corpus.key}) strings, ${spec.chunkSize} B chunks, against the peer behind a class (no caller deopts)`,
    peer: PEER_NAME,
    target: undefined,
    comparison: compare(
      () => ours(chunks),
      () => peerBehindClass(chunks),
      encoder.encode(corpus.text).length,
      options,
    ),
  };
}

export function measureRow(spec: RowSpec, options: MeasureOptions): RowResult {
  if (spec.kind === 'parser') return measureParser(spec, options);
  if (spec.kind === 'line-splitting') return measureLineSplitting(spec, options);
  if (spec.kind === 'event-building') return measureEventBuilding(spec, options);
  if (spec.kind === 'peer-behind-class') return measurePeerBehindClass(spec, options);
  return measureEncoder(spec, options);
}
