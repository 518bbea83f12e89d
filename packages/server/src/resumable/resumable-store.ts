/** How a resumable stream ended. Every stream ends with exactly one of these. */
export type StreamEndType = 'done' | 'failed' | 'stopped';

/** One entry of a stream's log: an event the source produced, or the terminal one. */
export interface StreamEntry {
  /** The SSE event type: the source's own (`token`, `message`, ...) or a StreamEndType. */
  type: string;
  data: string;
}

/** An entry as stored, with its position: 0 for the first, one more for each next one. */
export interface StoredEntry extends StreamEntry {
  seq: number;
}

/** A read: the entries asked for, and the state of the whole log when it was read. */
export interface StreamSlice {
  entries: StoredEntry[];
  /** How many entries the log has: the next position. */
  length: number;
  /** Whether the log has its terminal entry. */
  ended: boolean;
}

/**
 * What an append did. `duplicate`: this producer had already appended that sequence number
 * (a retry), so nothing changed. `lost`: the stream is not this producer's any more — it ended
 * (stopped, interrupted, expired) or another producer holds it — so the producer must stop.
 */
export type AppendResult = 'appended' | 'duplicate' | 'lost';

/** The terminal event types, for checking an entry. */
export const STREAM_END_TYPES: ReadonlySet<string> = new Set<StreamEndType>([
  'done',
  'failed',
  'stopped',
]);

/**
 * Where resumable streams keep their logs: an append-only log per stream id, its terminal
 * state, the producer's lease and the stop signal. Every method is async and every decision is
 * made inside the store, so one store shared by several instances (Redis) keeps them consistent:
 * the instance producing a stream, and readers and stoppers on any instance.
 *
 * The rules each implementation keeps:
 * - `append` is idempotent per producer and sequence number: a retried append changes nothing
 *   and answers `duplicate` — unless the position was taken by the `failed` entry of an
 *   interruption, which answers `lost`.
 *   A sequence number past the next one is a bug in the caller and rejects.
 * - After the terminal entry nothing more is appended; the stream is kept for `retentionMs`
 *   from its end, then it is gone (`read` answers `undefined`).
 * - The lease expires `leaseMs` after the producer last created or renewed it. A stream without
 *   a terminal entry whose lease expired is orphaned: `interruptIfOrphaned` ends it with a
 *   `failed` entry, once, whoever calls.
 */
export interface ResumableStore {
  /**
   * Creates the stream, held by `producer` for `leaseMs`. False (and nothing changes) when a
   * stream with this id exists.
   */
  create(id: string, producer: string, leaseMs: number): Promise<boolean>;
  /**
   * Appends `entries` at positions `seq`, `seq + 1`, ... for `producer`, all or nothing. Only
   * the last may be terminal; it ends the stream. Positions already stored are skipped (a retry).
   */
  append(
    id: string,
    producer: string,
    seq: number,
    entries: readonly StreamEntry[],
    retentionMs: number,
  ): Promise<AppendResult>;
  /**
   * Up to `limit` entries after position `after` (-1: from the start), oldest first;
   * `undefined` when no stream has this id (never created, or its retention ended).
   */
  read(id: string, after: number, limit: number): Promise<StreamSlice | undefined>;
  /**
   * Resolves when an entry after `after` may exist, or after `timeoutMs`, or when `signal`
   * aborts — whichever comes first. A wake-up may be spurious; callers read again. The timeout
   * is what keeps a reader from hanging when a notification is lost.
   */
  waitForEntries(id: string, after: number, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Extends the lease; false when the stream ended or is not this producer's. */
  renewLease(id: string, producer: string, leaseMs: number): Promise<boolean>;
  /**
   * Ends the stream with a `failed` entry carrying `reason` when it has no terminal entry and
   * its lease expired. True when this call ended it.
   */
  interruptIfOrphaned(id: string, reason: string, retentionMs: number): Promise<boolean>;
  /**
   * Asks whoever produces the stream to stop. False when no stream has this id or it already
   * ended. The request outlives a lost notification: `stopRequested` reads it back.
   */
  requestStop(id: string): Promise<boolean>;
  /** Whether a stop was requested for the stream. */
  stopRequested(id: string): Promise<boolean>;
  /**
   * Calls `listener` when a stop is requested for the stream, from this or any instance.
   * Returns the function that stops listening.
   */
  onStopRequest(id: string, listener: () => void): () => void;
  /** Notes that someone is reading the stream, for `ttlMs`. */
  markWatched(id: string, ttlMs: number): Promise<void>;
  /** Whether anyone, on any instance, noted reading the stream within its ttl. */
  isWatched(id: string): Promise<boolean>;
}
