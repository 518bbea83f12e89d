import { resumableEventId } from './resumable-event-id.js';
import type { ResumableStore, StoredEntry } from './resumable-store.js';
import { STREAM_END_TYPES } from './resumable-store.js';
import type { StreamTiming } from './stream-timing.js';

/** An event of a resumable stream, ready for `EventStream.send` (or `pipe`). */
export interface ResumableEvent {
  /** `<stream id>.<position>`: what a reconnecting client sends back as Last-Event-ID. */
  id: string;
  /** The source's event type, or at the end `done`, `failed` or `stopped`. */
  event: string;
  /** The data; for `failed` and `stopped`, the reason. */
  data: string;
}

export const INTERRUPTED =
  'Interrupted: the instance producing this stream stopped (its lease expired).';
const BATCH = 256;

/**
 * One reader of a stream, from a position on: the stored events, then each new one as it is
 * appended, up to and including the terminal event. Readers never stop the source: leaving
 * (`return()`, as EventStream.pipe does when the client goes away) only stops reading.
 *
 * A hand-written iterator rather than an async generator: a generator's `return()` waits until
 * the generator next yields, which for a quiet stream could be a long time.
 */
export class StreamReader implements AsyncIterableIterator<ResumableEvent> {
  readonly #store: ResumableStore;
  readonly #id: string;
  readonly #timing: StreamTiming;
  readonly #leave = new AbortController();
  #buffer: StoredEntry[];
  #after: number;
  #ended = false;
  #lastProgress = Date.now();
  #lastMarked = 0;

  constructor(
    store: ResumableStore,
    id: string,
    after: number,
    first: StoredEntry[],
    timing: StreamTiming,
  ) {
    this.#store = store;
    this.#id = id;
    this.#after = after;
    this.#buffer = first;
    this.#timing = timing;
  }

  /** Whether the reader left or read the terminal event. */
  get closed(): boolean {
    return this.#leave.signal.aborted;
  }

  async next(): Promise<IteratorResult<ResumableEvent, undefined>> {
    for (;;) {
      if (this.#leave.signal.aborted) return DONE;
      const entry = this.#buffer.shift();
      if (entry) {
        this.#after = entry.seq;
        this.#lastProgress = Date.now();
        if (STREAM_END_TYPES.has(entry.type)) this.#ended = true;
        return {
          done: false,
          value: { id: resumableEventId(this.#id, entry.seq), event: entry.type, data: entry.data },
        };
      }
      if (this.#ended) return this.#close();
      await this.#markWatched();
      const slice = await this.#store.read(this.#id, this.#after, BATCH);
      // Gone (its retention ended while this reader lagged behind): nothing more to read.
      if (!slice) return this.#close();
      if (slice.entries.length > 0) {
        this.#buffer = slice.entries;
        continue;
      }
      if (slice.ended) return this.#close();
      if (Date.now() - this.#lastProgress >= this.#timing.pollMs) {
        // Nothing new for a while: if the producer's lease ran out, end the stream for every
        // reader with `failed` (the store does it once), and read that on the next round.
        this.#lastProgress = Date.now();
        if (await this.#store.interruptIfOrphaned(this.#id, INTERRUPTED, this.#timing.retentionMs))
          continue;
      }
      await this.#store.waitForEntries(
        this.#id,
        this.#after,
        this.#timing.pollMs,
        this.#leave.signal,
      );
    }
  }

  async return(): Promise<IteratorResult<ResumableEvent, undefined>> {
    return this.#close();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ResumableEvent> {
    return this;
  }

  /** At most once per poll interval: the producer only needs to know someone is still here. */
  async #markWatched(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastMarked < this.#timing.pollMs) return;
    this.#lastMarked = now;
    await this.#store.markWatched(this.#id, this.#timing.pollMs * 2);
  }

  #close(): IteratorResult<ResumableEvent, undefined> {
    this.#leave.abort();
    return DONE;
  }
}

const DONE = { done: true, value: undefined } as const;
