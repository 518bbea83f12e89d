/**
 * Ways to cut one input into chunks, so a test can check that a streaming parser gives the same
 * result however the network happened to slice the stream. Every chunking of an input joins
 * back to exactly that input.
 */

export interface Chunking<T> {
  /** What the cut points are, for the failure message. */
  name: string;
  chunks: T[];
}

type Sliceable = string | Uint8Array;

const CR = 13;
const LF = 10;

/** Cuts `input` at the given positions (any order, duplicates and out-of-range ones ignored). */
export function splitAt<T extends Sliceable>(input: T, cuts: Iterable<number>): T[] {
  const points = [...new Set(cuts)].filter((i) => i > 0 && i < input.length).sort((a, b) => a - b);
  const chunks: T[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(input.slice(start, point) as T);
    start = point;
  }
  chunks.push(input.slice(start) as T);
  return chunks;
}

/** A small seeded PRNG (mulberry32): the same seed always gives the same chunkings. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function codeAt(input: Sliceable, i: number): number {
  return typeof input === 'string' ? input.charCodeAt(i) : (input[i] ?? -1);
}

/** Positions right after every CR: the CR ends a chunk, whatever follows it. */
function afterEveryCr(input: Sliceable): number[] {
  const cuts: number[] = [];
  for (let i = 0; i < input.length; i++) if (codeAt(input, i) === CR) cuts.push(i + 1);
  return cuts;
}

/** Positions between the CR and the LF of every CRLF pair. */
function insideEveryCrlf(input: Sliceable): number[] {
  const cuts: number[] = [];
  for (let i = 0; i + 1 < input.length; i++) {
    if (codeAt(input, i) === CR && codeAt(input, i + 1) === LF) cuts.push(i + 1);
  }
  return cuts;
}

/** Positions after each non-final byte of every multi-byte UTF-8 sequence (the BOM included). */
function insideEveryUtf8Sequence(bytes: Uint8Array): number[] {
  const cuts: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    if (byte >= 0x80 && byte < 0xc0) cuts.push(i); // a continuation byte: cut before it
  }
  return cuts;
}

/** Positions between the two halves of every surrogate pair. */
function insideEverySurrogatePair(text: string): number[] {
  const cuts: number[] = [];
  for (let i = 0; i + 1 < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) cuts.push(i + 1);
  }
  return cuts;
}

function* shared<T extends Sliceable>(
  input: T,
  served: T[] | undefined,
  seeds: number,
): Generator<Chunking<T>> {
  yield { name: 'whole', chunks: [input] };
  if (served !== undefined && served.length > 1) yield { name: 'as served', chunks: served };
  // Empty chunks are legal (a decoder can return ''); they must change nothing.
  yield {
    name: 'with empty chunks',
    chunks: splitAt(input, [1, 2]).flatMap((c) => [c, c.slice(0, 0) as T]),
  };
  yield { name: 'after every CR', chunks: splitAt(input, afterEveryCr(input)) };
  yield { name: 'inside every CRLF', chunks: splitAt(input, insideEveryCrlf(input)) };
  for (let i = 1; i < input.length; i++)
    yield { name: `two-way split at ${i}`, chunks: splitAt(input, [i]) };
  for (let seed = 1; seed <= seeds; seed++) {
    const random = seededRandom(seed);
    // Vary the density: some seeds cut often (tiny chunks), some rarely (long chunks).
    const density = 0.05 + 0.6 * random();
    const cuts: number[] = [];
    for (let i = 1; i < input.length; i++) if (random() < density) cuts.push(i);
    yield { name: `random split, seed ${seed}`, chunks: splitAt(input, cuts) };
  }
}

/** Every chunking of a byte stream named by the conformance suite. */
export function* byteChunkings(
  bytes: Uint8Array,
  served?: Uint8Array[],
  seeds = 16,
): Generator<Chunking<Uint8Array>> {
  yield* shared(bytes, served, seeds);
  yield { name: 'one byte at a time', chunks: splitAt(bytes, bytes.keys()) };
  yield {
    name: 'inside every multi-byte character',
    chunks: splitAt(bytes, insideEveryUtf8Sequence(bytes)),
  };
}

/** Every chunking of a text stream named by the conformance suite. */
export function* stringChunkings(
  text: string,
  served?: string[],
  seeds = 16,
): Generator<Chunking<string>> {
  yield* shared(text, served, seeds);
  yield { name: 'one UTF-16 unit at a time', chunks: text.split('') };
  yield { name: 'one character at a time', chunks: [...text] };
  yield {
    name: 'inside every surrogate pair',
    chunks: splitAt(text, insideEverySurrogatePair(text)),
  };
}
