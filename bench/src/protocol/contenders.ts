/**
 * The two parsers under test, each wrapped as "parse these chunks, return a tally of what came
 * out". Both get the same callbacks (events, retries, comments), and the tallies are compared
 * before timing so both are known to do the same work.
 *
 * The peer is the newest eventsource-parser the running Node supports: 4 needs Node >= 22.12,
 * so on Node 20 the peer is the 3.x line (`npm run bench:protocol:node24` runs against 4).
 *
 * The event callback reads a character from the middle of each event's data, as any consumer
 * that uses the data (JSON.parse, a DOM update) does. A parser that hands out data as a rope of
 * pieces (a V8 cons string) pays for flattening it here, where a real application would.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createParser } from '@tidings/protocol';

const [nodeMajor = 0, nodeMinor = 0] = process.versions.node.split('.').map(Number);
const peerPackage =
  nodeMajor > 22 || (nodeMajor === 22 && nodeMinor >= 12)
    ? 'eventsource-parser-4'
    : 'eventsource-parser';
const { createParser: createPeerParser } = (await import(
  peerPackage
)) as typeof import('eventsource-parser');
const peerVersion = (
  JSON.parse(
    readFileSync(createRequire(import.meta.url).resolve(`${peerPackage}/package.json`), 'utf8'),
  ) as { version: string }
).version;

/** The peer as the results name it, e.g. `eventsource-parser 4.1.3`. */
export const PEER_NAME = `eventsource-parser ${peerVersion}`;

export type Chunks = string[] | Uint8Array[];

export interface Tally {
  events: number;
  dataChars: number;
  /** Sum of one character of each event's data. */
  sample: number;
  retries: number;
  comments: number;
}

export type Contender = (chunks: Chunks) => Tally;

const newTally = (): Tally => ({ events: 0, dataChars: 0, sample: 0, retries: 0, comments: 0 });

/**
 * A fresh tally and the callbacks that keep it, the same for every contender (and for the
 * event-building bound), so that all of them do the same work per event.
 */
export function tallying() {
  const tally = newTally();
  return {
    tally,
    onEvent<Event extends { data: string }>(event: Event) {
      tally.events++;
      tally.dataChars += event.data.length;
      tally.sample += event.data.charCodeAt(event.data.length >> 1) | 0;
    },
    onRetry(_milliseconds: number) {
      tally.retries++;
    },
    onComment(_text: string) {
      tally.comments++;
    },
  };
}

export const ours: Contender = (chunks) => {
  const { tally, ...callbacks } = tallying();
  const parser = createParser(callbacks);
  for (const chunk of chunks) parser.feed(chunk);
  parser.end();
  return tally;
};

/** eventsource-parser takes strings only: bytes go through a streaming TextDecoder first. */
export const peer: Contender = (chunks) => {
  const { tally, ...callbacks } = tallying();
  const parser = createPeerParser(callbacks);
  if (typeof chunks[0] === 'string') {
    for (const chunk of chunks as string[]) parser.feed(chunk);
  } else {
    const decoder = new TextDecoder();
    for (const chunk of chunks as Uint8Array[])
      parser.feed(decoder.decode(chunk, { stream: true }));
    parser.feed(decoder.decode());
  }
  parser.reset();
  return tally;
};

/**
 * eventsource-parser behind a class whose methods forward to its closures, as ours is built:
 * what it would cost without its callers' deoptimization at each new parser (see
 * docs/protocol.md, "The cliff"). Strings only.
 */
class PeerBehindClass {
  readonly #feed: (chunk: string) => void;
  readonly #reset: () => void;

  constructor(parser: ReturnType<typeof createPeerParser>) {
    this.#feed = parser.feed;
    this.#reset = parser.reset;
  }

  feed(chunk: string): void {
    this.#feed(chunk);
  }

  reset(): void {
    this.#reset();
  }
}

export const peerBehindClass: Contender = (chunks) => {
  const { tally, ...callbacks } = tallying();
  const parser = new PeerBehindClass(createPeerParser(callbacks));
  for (const chunk of chunks as string[]) parser.feed(chunk);
  parser.reset();
  return tally;
};
