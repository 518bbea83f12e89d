import { randomUUID } from 'node:crypto';
import { MemoryResumableStore } from './memory-resumable-store.js';
import { parseResumableEventId } from './resumable-event-id.js';
import type { ResumableStore, StreamEndType } from './resumable-store.js';
import { StreamExistsError } from './stream-exists-error.js';
import { produceStream, type StreamSource } from './stream-producer.js';
import { StreamReader } from './stream-reader.js';
import type { StreamTiming } from './stream-timing.js';

export interface ResumableStreamsOptions {
  /** Where the logs live. Default: a MemoryResumableStore (this process only). */
  store?: ResumableStore;
  /**
   * How long the producing instance's lease lasts; it is renewed every third of it. When the
   * instance dies, readers get `failed` at most `leaseMs + pollMs` later. Default 3000.
   */
  leaseMs?: number;
  /** How often a waiting reader reads again regardless of notifications. Default 1000. */
  pollMs?: number;
  /**
   * How long a stream goes on with nobody reading, anywhere, before its source is stopped
   * (a reload or a network blip comes back within it). The source stops between `graceMs` and
   * `graceMs + 2 * pollMs + leaseMs / 3` after the last reader left. Default 5000.
   */
  graceMs?: number;
  /** How long an ended stream can still be read (resumed, replayed). Default 60 000. */
  retentionMs?: number;
  /** Most events per stream, terminal included; beyond it the stream ends `failed`. Default 20 000. */
  maxEvents?: number;
  /** Most characters of data per stream; beyond it the stream ends `failed`. Default 4 Mi. */
  maxDataLength?: number;
}

/** A stream started on this instance. */
export interface StartedStream {
  readonly id: string;
  /**
   * How the stream ended, once it has; `undefined` when it was ended elsewhere (this instance
   * lost its lease while stalled).
   */
  readonly ended: Promise<StreamEndType | undefined>;
}

/**
 * Durable, resumable streams — an LLM reply that survives a page reload, a reconnect to another
 * instance, and the death of the instance producing it.
 *
 * `startStream(id, source)` runs `source` here and appends each event to a log in the store.
 * `readStream(id, lastEventId)` reads that log from any instance sharing the store, from the
 * start or after the event a client saw last, to the terminal event: `done`, `failed` (reason)
 * or `stopped` (reason). Every event has an id (`<stream id>.<position>`), so a browser's native
 * EventSource resumes with its standard `Last-Event-ID`.
 *
 * Stop is not disconnect: a reader leaving never stops the source — only nobody reading for
 * `graceMs`, or `stop(id)` from any instance.
 *
 * @example
 * const streams = new ResumableStreams();
 * await streams.startStream(id, (signal) => tokensFrom(prompt, signal));
 * const events = await streams.readStream(id, lastEventId);   // undefined: nothing (more) to read
 * if (!events) return res.writeHead(204).end();
 * await EventStream.fromNode(req, res).pipe(events, { map: (e) => e });
 */
export class ResumableStreams {
  readonly store: ResumableStore;
  /** This instance's producer id: appends are idempotent per producer and position. */
  readonly producerId = randomUUID();
  readonly #timing: StreamTiming;

  constructor(options: ResumableStreamsOptions = {}) {
    this.store = options.store ?? new MemoryResumableStore();
    this.#timing = {
      leaseMs: positive(options.leaseMs ?? 3_000, 'leaseMs'),
      pollMs: positive(options.pollMs ?? 1_000, 'pollMs'),
      graceMs: atLeastZero(options.graceMs ?? 5_000, 'graceMs'),
      retentionMs: positive(options.retentionMs ?? 60_000, 'retentionMs'),
      maxEvents: positive(options.maxEvents ?? 20_000, 'maxEvents'),
      maxDataLength: positive(options.maxDataLength ?? 4 * 1024 * 1024, 'maxDataLength'),
    };
    if (this.#timing.maxEvents < 2) throw new RangeError('maxEvents must be at least 2');
  }

  /**
   * Starts `source` under `id` on this instance. Resolves once the stream exists in the store
   * (so it can be read at once, from anywhere); rejects with StreamExistsError when the id is
   * taken, or with the store's error (StoreFullError for a full memory store).
   */
  async startStream(id: string, source: StreamSource): Promise<StartedStream> {
    if (id === '' || /[\r\n\0]/.test(id)) {
      throw new TypeError(
        `A stream id must be non-empty, without CR, LF or NUL: ${JSON.stringify(id)}`,
      );
    }
    if (!(await this.store.create(id, this.producerId, this.#timing.leaseMs))) {
      throw new StreamExistsError(id);
    }
    const ended = produceStream(this.store, id, this.producerId, source, this.#timing);
    return { id, ended };
  }

  /**
   * A reader of stream `id`: every event after `lastEventId` (from the start when it is absent
   * or empty) up to and including the terminal event. Resolves `undefined` when there is
   * nothing to read: no such stream (never started, or its retention ended), or `lastEventId`
   * is its terminal event — answer 204, which tells an EventSource to stop reconnecting.
   * Rejects with a RangeError when `lastEventId` is not an id of this stream.
   */
  async readStream(id: string, lastEventId = ''): Promise<StreamReader | undefined> {
    let after = -1;
    if (lastEventId !== '') {
      const position = parseResumableEventId(lastEventId);
      if (!position || position.streamId !== id) {
        throw new RangeError(`${JSON.stringify(lastEventId)} is not an event id of stream ${id}`);
      }
      after = position.seq;
    }
    const slice = await this.store.read(id, after, 256);
    if (!slice) return undefined;
    if (after >= slice.length) {
      throw new RangeError(
        `Stream ${id} has ${slice.length} events; ${JSON.stringify(lastEventId)} is past its end`,
      );
    }
    if (slice.ended && slice.entries.length === 0) return undefined;
    return new StreamReader(this.store, id, after, slice.entries, this.#timing);
  }

  /**
   * Stops stream `id` wherever it is produced: its source is aborted and readers get `stopped`.
   * False when no running stream has this id.
   */
  stop(id: string): Promise<boolean> {
    return this.store.requestStop(id);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number`);
  return value;
}

function atLeastZero(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be 0 or more`);
  return value;
}
