export interface HistoryOptions {
  /** Most events kept. Default {@link DEFAULT_HISTORY_MAX_EVENTS}. */
  maxEvents?: number;
  /** Most encoded bytes kept (the sum of the entries' `chunk` sizes). Default {@link DEFAULT_HISTORY_MAX_BYTES}. */
  maxBytes?: number;
  /** Oldest age kept, in milliseconds, measured from each entry's `time`. Default: no age limit. */
  maxAgeMs?: number;
}

export interface HistoryEntry<Meta = unknown> {
  /** The event id; `since()` looks entries up by it. */
  id: string;
  /** The encoded event block, as it goes on the wire. */
  chunk: Uint8Array;
  /** Whatever the owner needs to decide who may see the entry (topics, audience, ...). */
  meta: Meta;
  /** When the entry was created, in milliseconds since the epoch (`Date.now()`). */
  time: number;
}

export const DEFAULT_HISTORY_MAX_EVENTS = 1000;
export const DEFAULT_HISTORY_MAX_BYTES = 8 * 1024 * 1024;

// Evicted slots are cleared at once (so their bytes can be collected) but removed from the
// array in batches: shifting on every eviction would make a full ring cost O(n) per append.
const COMPACT_AFTER = 1024;

function checkLimit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(`History option "${name}" must be a non-negative number, got ${value}`);
  }
  return value;
}

/**
 * The recent events of a stream, so a client that reconnects with `Last-Event-ID` gets what
 * it missed. A ring bounded by count, bytes and age: appending evicts the oldest entries until
 * every bound holds again (an entry larger than `maxBytes` on its own is not kept at all).
 *
 * Every appended entry gets a position: 0 for the first ever, counting up, never reused.
 * Positions let a reader keep a cursor that stays valid while entries are appended and evicted
 * (see {@link History.at}); ids are for lookups from clients.
 *
 * Ids should be unique. If an id is appended twice, lookups find the newer entry.
 */
export class History<Meta = unknown> {
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  #slots: (HistoryEntry<Meta> | undefined)[] = [];
  /** Index in `#slots` of the oldest retained entry. */
  #head = 0;
  /** Position of the oldest retained entry. */
  #first = 0;
  #bytes = 0;
  readonly #positions = new Map<string, number>();

  constructor(options: HistoryOptions = {}) {
    this.#maxEvents = checkLimit('maxEvents', options.maxEvents, DEFAULT_HISTORY_MAX_EVENTS);
    this.#maxBytes = checkLimit('maxBytes', options.maxBytes, DEFAULT_HISTORY_MAX_BYTES);
    this.#maxAgeMs = checkLimit('maxAgeMs', options.maxAgeMs, Number.POSITIVE_INFINITY);
  }

  /** Number of entries retained. */
  get size(): number {
    return this.#slots.length - this.#head;
  }

  /** Sum of the retained entries' `chunk` sizes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Position of the oldest retained entry (equal to `endPosition` when empty); expired ones are gone. */
  get firstPosition(): number {
    this.#evictExpired();
    return this.#first;
  }

  /** Position the next appended entry will get. */
  get endPosition(): number {
    return this.#first + this.size;
  }

  append(entry: HistoryEntry<Meta>): void {
    this.#positions.set(entry.id, this.endPosition);
    this.#slots.push(entry);
    this.#bytes += entry.chunk.byteLength;
    while (this.size > this.#maxEvents || this.#bytes > this.#maxBytes) this.#evictOldest();
    this.#evictExpired();
  }

  /**
   * Entries after `lastEventId`, oldest first; undefined when the id is unknown or evicted.
   * An empty array means the client is up to date.
   */
  since(lastEventId: string): HistoryEntry<Meta>[] | undefined {
    const position = this.positionOf(lastEventId);
    if (position === undefined) return undefined;
    return this.#slice(position + 1);
  }

  /** Every retained entry, oldest first. */
  entries(): HistoryEntry<Meta>[] {
    this.#evictExpired();
    return this.#slice(this.#first);
  }

  /** Position of the entry with this id; undefined when unknown, evicted or expired. */
  positionOf(id: string): number | undefined {
    this.#evictExpired();
    return this.#positions.get(id);
  }

  /** The entry at `position`; undefined once it was evicted, or before it exists. */
  at(position: number): HistoryEntry<Meta> | undefined {
    if (position < this.#first) return undefined;
    return this.#slots[this.#head + position - this.#first];
  }

  /** Removes every entry. Positions keep counting from where they were. */
  clear(): void {
    this.#first = this.endPosition;
    this.#slots = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#positions.clear();
  }

  #slice(fromPosition: number): HistoryEntry<Meta>[] {
    return this.#slots.slice(this.#head + fromPosition - this.#first) as HistoryEntry<Meta>[];
  }

  #evictExpired(): void {
    if (this.#maxAgeMs === Number.POSITIVE_INFINITY || this.size === 0) return;
    const oldestKept = Date.now() - this.#maxAgeMs;
    while (this.size > 0 && (this.#slots[this.#head] as HistoryEntry<Meta>).time < oldestKept) {
      this.#evictOldest();
    }
  }

  #evictOldest(): void {
    const entry = this.#slots[this.#head] as HistoryEntry<Meta>;
    this.#slots[this.#head] = undefined;
    // A repeated id points at its newer entry, which must stay findable.
    if (this.#positions.get(entry.id) === this.#first) this.#positions.delete(entry.id);
    this.#bytes -= entry.chunk.byteLength;
    this.#head++;
    this.#first++;
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head);
      this.#head = 0;
    }
  }
}
