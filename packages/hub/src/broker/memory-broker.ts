import { randomUUID } from 'node:crypto';
import { History, type HistoryOptions } from '@tidings/server';
import { parseBytes, parseDuration } from '../units.js';
import { encodeUpdate, preciseNow, type StoredUpdate, type Update } from '../update.js';
import {
  type Broker,
  BrokerConfigError,
  type BrokerFeed,
  type BrokerHealth,
  BrokerUnavailableError,
  type LogHead,
  type ReplayFrom,
  type ReplayOptions,
  type ReplayPage,
  registerBroker,
} from './broker.js';
import { MemoryPresence } from './presence.js';

export interface MemoryBrokerOptions {
  /** Updates kept for replay; `0` keeps none. Default 10 000. */
  maxEvents?: number;
  /** Bytes of encoded updates kept for replay. Default 64 MiB. */
  maxBytes?: number;
  /** How long an update is kept for replay, in ms; `0` for no age limit (the default). */
  maxAgeMs?: number;
}

export const MEMORY_DEFAULTS = { maxEvents: 10_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 0 };

/**
 * One process, no persistence: updates are ordered by a counter and kept in a bounded
 * {@link History} (count, bytes, age) for `Last-Event-ID` replay. The update with sequence
 * `s` sits at history position `s - 1`. A restart loses the history, and the new broker has a
 * new epoch; run a shared broker when that matters.
 *
 * Transport URL: `memory://[?max_events=10000&max_bytes=64MiB&max_age=1h]`.
 */
export class MemoryBroker implements Broker {
  readonly name = 'memory';
  readonly epoch = randomUUID();
  readonly presence = new MemoryPresence();
  readonly #history: History<StoredUpdate> | undefined;
  #sequence = 0;
  #lastId: string | undefined;
  #feed: BrokerFeed | undefined;
  #closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    const maxEvents = options.maxEvents ?? MEMORY_DEFAULTS.maxEvents;
    if (maxEvents > 0) {
      const history: HistoryOptions = {
        maxEvents,
        maxBytes: options.maxBytes ?? MEMORY_DEFAULTS.maxBytes,
      };
      const maxAgeMs = options.maxAgeMs ?? MEMORY_DEFAULTS.maxAgeMs;
      if (maxAgeMs > 0) history.maxAgeMs = maxAgeMs;
      this.#history = new History<StoredUpdate>(history);
    }
  }

  /** Reads the options of a `memory://` transport URL. */
  static fromUrl(url: URL): MemoryBroker {
    const options: MemoryBrokerOptions = {};
    for (const [name, value] of url.searchParams) {
      const what = `transport ${url.protocol}// parameter ${name}`;
      try {
        if (name === 'max_events') options.maxEvents = parseCount(value, what);
        else if (name === 'max_bytes') options.maxBytes = parseBytes(value, what);
        else if (name === 'max_age') options.maxAgeMs = parseDuration(value, what);
        else {
          throw new RangeError(
            `unknown parameter "${name}" in transport URL "${url.href}": memory:// takes max_events, max_bytes and max_age`,
          );
        }
      } catch (error) {
        throw new BrokerConfigError((error as Error).message);
      }
    }
    return new MemoryBroker(options);
  }

  async start(feed: BrokerFeed): Promise<void> {
    this.#assertOpen();
    this.#feed = feed;
  }

  async publish(update: Update): Promise<StoredUpdate> {
    this.#assertOpen();
    const acceptedAt = preciseNow();
    const stored: StoredUpdate = {
      ...update,
      epoch: this.epoch,
      sequence: ++this.#sequence,
      chunk: encodeUpdate(update),
      acceptedAt,
    };
    this.#history?.append({ id: stored.id, chunk: stored.chunk, meta: stored, time: Date.now() });
    this.#lastId = stored.id;
    // The log is this process: the feed can have the update at once (it queues it when a
    // fan-out is under way).
    this.#feed?.update(stored);
    return stored;
  }

  async head(): Promise<LogHead> {
    this.#assertOpen();
    return { epoch: this.epoch, sequence: this.#sequence, lastEventId: this.#lastId };
  }

  async replay(from: ReplayFrom, options: ReplayOptions): Promise<ReplayPage> {
    this.#assertOpen();
    const history = this.#history;
    if (options.upTo.epoch !== this.epoch) return EPOCH_CHANGED;
    // Positions in history are sequences minus one: the page covers [start, end).
    const end = Math.min(options.upTo.sequence, this.#sequence);
    const first = history?.firstPosition ?? this.#sequence;
    let start: number;
    let outcome: ReplayPage['outcome'];
    let precedingId: string | undefined;
    switch (from.kind) {
      case 'earliest':
        start = first;
        outcome = 'earliest';
        break;
      case 'id': {
        const position = history?.positionOf(from.id);
        if (position === undefined) {
          start = first;
          outcome = 'unknown-id';
        } else {
          start = position + 1;
          outcome = 'resumed';
          precedingId = from.id;
        }
        break;
      }
      case 'position':
        if (from.position.epoch !== this.epoch) return EPOCH_CHANGED;
        if (from.position.sequence < first) {
          // Evicted between two pages: the rest of the replay would have a hole.
          start = first;
          outcome = 'unknown-id';
        } else {
          start = from.position.sequence;
          outcome = 'resumed';
          precedingId = history?.at(start - 1)?.id;
        }
        break;
    }
    const stop = Math.min(end, start + Math.max(1, options.limit));
    const updates: StoredUpdate[] = [];
    for (let position = Math.max(start, first); position < stop; position++) {
      const entry = history?.at(position);
      if (entry !== undefined) updates.push(entry.meta);
    }
    const next = stop < end ? { epoch: this.epoch, sequence: stop } : undefined;
    return { outcome, updates, precedingId, next };
  }

  async health(): Promise<BrokerHealth> {
    return this.#closed ? { ready: false, reason: 'the memory broker is closed' } : READY;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#feed = undefined;
    await this.presence.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new BrokerUnavailableError('the memory broker is closed');
  }
}

const READY: BrokerHealth = { ready: true };
const EPOCH_CHANGED: ReplayPage = {
  outcome: 'epoch-changed',
  updates: [],
  precedingId: undefined,
  next: undefined,
};

function parseCount(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new RangeError(`${what}: "${value}" is not a whole number`);
  return Number(value);
}

registerBroker('memory', (url) => MemoryBroker.fromUrl(url));
