import { History, type HistoryOptions } from '@tidings/server';
import { EARLIEST } from '../protocol/draft-07.js';
import { parseBytes, parseDuration } from '../units.js';
import { encodeUpdate, preciseNow, type StoredUpdate, type Update } from '../update.js';
import {
  type Broker,
  BrokerConfigError,
  BrokerUnavailableError,
  type Replay,
  registerBroker,
  type UpdateListener,
} from './broker.js';

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
 * {@link History} (count, bytes, age) for `Last-Event-ID` replay. A restart loses the
 * history; run a shared broker when that matters.
 *
 * Transport URL: `memory://[?max_events=10000&max_bytes=64MiB&max_age=1h]`.
 */
export class MemoryBroker implements Broker {
  readonly name = 'memory';
  readonly #history: History<StoredUpdate> | undefined;
  #sequence = 0;
  #lastId = EARLIEST;
  #listener: UpdateListener | undefined;
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

  async start(listener: UpdateListener): Promise<void> {
    this.#listener = listener;
  }

  async publish(update: Update): Promise<StoredUpdate> {
    if (this.#closed) throw new BrokerUnavailableError('the memory broker is closed');
    const acceptedAt = preciseNow();
    const stored: StoredUpdate = {
      ...update,
      sequence: ++this.#sequence,
      chunk: encodeUpdate(update),
      acceptedAt,
    };
    this.#history?.append({ id: stored.id, chunk: stored.chunk, meta: stored, time: Date.now() });
    this.#lastId = stored.id;
    // Synchronously: the update is in history and fanned out before anything else runs, so
    // a replay read in between can never miss it or see it twice.
    this.#listener?.(stored);
    return stored;
  }

  async replay(lastEventId: string): Promise<Replay> {
    const through = this.#sequence;
    const history = this.#history;
    if (!history) return { updates: [], precedingId: EARLIEST, through };
    if (lastEventId !== EARLIEST) {
      const after = history.since(lastEventId);
      if (after)
        return { updates: after.map((entry) => entry.meta), precedingId: lastEventId, through };
    }
    // `earliest`, or an id that is unknown or already evicted: everything kept, and the
    // client learns from `Last-Event-ID: earliest` that it may have missed some.
    return {
      updates: history.entries().map((entry) => entry.meta),
      precedingId: EARLIEST,
      through,
    };
  }

  async lastEventId(): Promise<string> {
    return this.#lastId;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listener = undefined;
  }
}

function parseCount(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new RangeError(`${what}: "${value}" is not a whole number`);
  return Number(value);
}

registerBroker('memory', (url) => MemoryBroker.fromUrl(url));
