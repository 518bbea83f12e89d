import type { TokenSource } from './token-source.js';

/** One event of a reply, as it goes on the wire; `index` counts from 0 (the `start` event). */
export interface ReplyEvent {
  index: number;
  /** `<generation>.<index>`: what a reconnecting client sends back as Last-Event-ID. */
  id: string;
  type: 'start' | 'token' | 'done' | 'failed';
  data: string;
}

export interface GenerationOptions {
  /**
   * How long a reply keeps generating with nobody connected, waiting for a reconnect (a page
   * reload, a network blip). 0 cancels the upstream as soon as the last reader leaves.
   */
  graceMs: number;
  /** Most events one reply may have; beyond it the reply ends with `failed`. */
  maxEvents: number;
}

/**
 * One reply being generated: the upstream's tokens written to a log that any number of
 * readers follow, each from where it left off. The upstream is read once, whoever watches,
 * so a reader that reconnects gets the rest of the same reply instead of a new request.
 *
 * The upstream is aborted when the last reader has been gone for `graceMs` — a closed page
 * stops costing tokens — and when the log reaches `maxEvents`.
 */
export class Generation {
  readonly id: string;
  readonly #events: ReplyEvent[] = [];
  readonly #options: GenerationOptions;
  readonly #upstream = new AbortController();
  #finished = false;
  #readers = 0;
  #graceTimer: NodeJS.Timeout | undefined;
  /** Readers waiting for the next event. */
  #waiting: (() => void)[] = [];
  /** Resolves when the reply has finished (completed, failed or cancelled). */
  readonly finished: Promise<void>;

  constructor(
    id: string,
    prompt: string,
    source: { tokens: TokenSource; description: string },
    options: GenerationOptions,
  ) {
    this.id = id;
    this.#options = options;
    this.#append('start', JSON.stringify({ generation: id, source: source.description }));
    this.finished = this.#run(source.tokens(prompt, this.#upstream.signal));
  }

  get done(): boolean {
    return this.#finished;
  }

  /** The index of the last event written so far. */
  get lastIndex(): number {
    return this.#events.length - 1;
  }

  /** True once the upstream was aborted because nobody was reading. */
  get cancelled(): boolean {
    return this.#upstream.signal.aborted && this.#finished;
  }

  /**
   * The events after `afterIndex`, then each new one as it is written, until the reply ends.
   * The reader counts as watching until it ends or is stopped with `return()` (as
   * EventStream.pipe does when the client disconnects); when the last one leaves, the grace
   * period starts.
   *
   * A hand-written iterator rather than an async generator: a generator's `return()` waits
   * until the generator next yields, which for a stalled upstream could be never.
   */
  read(afterIndex: number): AsyncIterableIterator<ReplyEvent> {
    let next = afterIndex + 1;
    let left = false;
    this.#readers++;
    clearTimeout(this.#graceTimer);
    const leave = () => {
      if (left) return;
      left = true;
      this.#readers--;
      if (this.#readers === 0 && !this.#finished) this.#startGrace();
    };
    const ended = { done: true, value: undefined } as const;
    const iterator: AsyncIterableIterator<ReplyEvent> = {
      next: async () => {
        for (;;) {
          if (left) return ended;
          if (next < this.#events.length) {
            return { done: false, value: this.#events[next++] as ReplyEvent };
          }
          if (this.#finished) {
            leave();
            return ended;
          }
          await new Promise<void>((resolve) => this.#waiting.push(resolve));
        }
      },
      return: async () => {
        leave();
        return ended;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #startGrace(): void {
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => {
      if (this.#readers === 0) this.#upstream.abort(new Error('nobody is reading the reply'));
    }, this.#options.graceMs);
    this.#graceTimer.unref();
  }

  async #run(tokens: AsyncIterable<string>): Promise<void> {
    try {
      for await (const token of tokens) {
        if (this.#events.length >= this.#options.maxEvents - 1) {
          this.#upstream.abort(new Error('reply too long'));
          this.#append(
            'failed',
            `The reply was cut off after ${this.#options.maxEvents - 2} tokens.`,
          );
          return;
        }
        this.#append('token', token);
      }
      this.#append('done', '');
    } catch (error) {
      // A reader that resumes a cancelled reply later learns why it ends here.
      const reason = this.#upstream.signal.aborted
        ? `Cancelled: nobody was reading the reply for ${this.#options.graceMs} ms.`
        : error instanceof Error
          ? error.message
          : String(error);
      this.#append('failed', reason);
    } finally {
      clearTimeout(this.#graceTimer);
      this.#finished = true;
      this.#wake();
    }
  }

  #append(type: ReplyEvent['type'], data: string): void {
    const index = this.#events.length;
    this.#events.push({ index, id: `${this.id}.${index}`, type, data });
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** Splits a Last-Event-ID of this example (`<generation>.<index>`); undefined when it is not one. */
export function parseReplyId(id: string): { generation: string; index: number } | undefined {
  const dot = id.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const index = Number(id.slice(dot + 1));
  if (!Number.isSafeInteger(index) || index < 0) return undefined;
  return { generation: id.slice(0, dot), index };
}
