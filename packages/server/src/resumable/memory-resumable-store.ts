import {
  type AppendResult,
  type ResumableStore,
  STREAM_END_TYPES,
  type StoredEntry,
  type StreamEntry,
  type StreamSlice,
} from './resumable-store.js';
import { StoreFullError } from './store-full-error.js';

export interface MemoryResumableStoreOptions {
  /** Streams kept at once, running or retained; `create` beyond it throws StoreFullError. Default 1000. */
  maxStreams?: number;
}

interface MemoryStream {
  entries: StoredEntry[];
  producer: string;
  leaseExpiresAt: number;
  ended: boolean;
  /** The position of the `failed` entry written for an expired lease: not the producer's. */
  interruptedAt: number | undefined;
  stopRequested: boolean;
  watchedUntil: number;
  waiters: Set<() => void>;
  stopListeners: Set<() => void>;
  expiry: NodeJS.Timeout | undefined;
}

/**
 * A ResumableStore in this process's memory: streams survive reconnects and page reloads, not
 * a restart, and are shared only by the ResumableStreams of this process. `@tidings/redis` has
 * the store for several instances.
 */
export class MemoryResumableStore implements ResumableStore {
  readonly #streams = new Map<string, MemoryStream>();
  readonly #maxStreams: number;

  constructor(options: MemoryResumableStoreOptions = {}) {
    this.#maxStreams = options.maxStreams ?? 1000;
  }

  /** Streams kept now, running or retained. */
  get size(): number {
    return this.#streams.size;
  }

  async create(id: string, producer: string, leaseMs: number): Promise<boolean> {
    if (this.#streams.has(id)) return false;
    if (this.#streams.size >= this.#maxStreams) throw new StoreFullError(this.#maxStreams);
    this.#streams.set(id, {
      entries: [],
      producer,
      leaseExpiresAt: Date.now() + leaseMs,
      ended: false,
      interruptedAt: undefined,
      stopRequested: false,
      watchedUntil: 0,
      waiters: new Set(),
      stopListeners: new Set(),
      expiry: undefined,
    });
    return true;
  }

  async append(
    id: string,
    producer: string,
    seq: number,
    entries: readonly StreamEntry[],
    retentionMs: number,
  ): Promise<AppendResult> {
    checkAppendBatch(id, entries);
    const stream = this.#streams.get(id);
    if (!stream || stream.producer !== producer) return 'lost';
    const next = stream.entries.length;
    if (seq > next) {
      throw new RangeError(`Stream ${id}: append at ${seq}, but the next position is ${next}`);
    }
    const end = seq + entries.length;
    if (end <= next) {
      return stream.interruptedAt !== undefined && end > stream.interruptedAt
        ? 'lost'
        : 'duplicate';
    }
    if (stream.ended) return 'lost';
    for (let i = next - seq; i < entries.length; i++) {
      this.#push(id, stream, entries[i] as StreamEntry, retentionMs);
    }
    return 'appended';
  }

  async read(id: string, after: number, limit: number): Promise<StreamSlice | undefined> {
    const stream = this.#streams.get(id);
    if (!stream) return undefined;
    return {
      entries: stream.entries.slice(after + 1, after + 1 + limit),
      length: stream.entries.length,
      ended: stream.ended,
    };
  }

  waitForEntries(id: string, after: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const stream = this.#streams.get(id);
    if (!stream || stream.entries.length - 1 > after || stream.ended || signal.aborted) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', wake);
        stream.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      signal.addEventListener('abort', wake, { once: true });
      stream.waiters.add(wake);
    });
  }

  async renewLease(id: string, producer: string, leaseMs: number): Promise<boolean> {
    const stream = this.#streams.get(id);
    if (!stream || stream.ended || stream.producer !== producer) return false;
    stream.leaseExpiresAt = Date.now() + leaseMs;
    return true;
  }

  async interruptIfOrphaned(id: string, reason: string, retentionMs: number): Promise<boolean> {
    const stream = this.#streams.get(id);
    if (!stream || stream.ended || stream.leaseExpiresAt > Date.now()) return false;
    stream.interruptedAt = stream.entries.length;
    this.#push(id, stream, { type: 'failed', data: reason }, retentionMs);
    return true;
  }

  async requestStop(id: string): Promise<boolean> {
    const stream = this.#streams.get(id);
    if (!stream || stream.ended) return false;
    stream.stopRequested = true;
    for (const listener of [...stream.stopListeners]) listener();
    return true;
  }

  async stopRequested(id: string): Promise<boolean> {
    return this.#streams.get(id)?.stopRequested ?? false;
  }

  onStopRequest(id: string, listener: () => void): () => void {
    const stream = this.#streams.get(id);
    if (!stream) return () => {};
    stream.stopListeners.add(listener);
    return () => stream.stopListeners.delete(listener);
  }

  async markWatched(id: string, ttlMs: number): Promise<void> {
    const stream = this.#streams.get(id);
    if (stream) stream.watchedUntil = Math.max(stream.watchedUntil, Date.now() + ttlMs);
  }

  async isWatched(id: string): Promise<boolean> {
    return (this.#streams.get(id)?.watchedUntil ?? 0) > Date.now();
  }

  #push(id: string, stream: MemoryStream, entry: StreamEntry, retentionMs: number): void {
    // Copied: the caller's object must not change what readers get.
    stream.entries.push({ seq: stream.entries.length, type: entry.type, data: entry.data });
    if (STREAM_END_TYPES.has(entry.type)) {
      stream.ended = true;
      stream.stopListeners.clear();
      // One timer per ended stream, unref'd: retention never keeps the process alive.
      stream.expiry = setTimeout(() => this.#streams.delete(id), retentionMs);
      stream.expiry.unref?.();
    }
    for (const wake of [...stream.waiters]) wake();
  }
}

/** For stores: an append carries at least one entry, and only its last may end the stream. */
export function checkAppendBatch(id: string, entries: readonly StreamEntry[]): void {
  if (entries.length === 0)
    throw new RangeError(`Stream ${id}: an append needs at least one entry`);
  for (let i = 0; i < entries.length - 1; i++) {
    if (STREAM_END_TYPES.has((entries[i] as StreamEntry).type)) {
      throw new RangeError(`Stream ${id}: only the last entry of an append may end the stream`);
    }
  }
}
