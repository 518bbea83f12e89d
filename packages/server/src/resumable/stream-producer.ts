import type { ResumableStore, StreamEndType, StreamEntry } from './resumable-store.js';
import { STREAM_END_TYPES } from './resumable-store.js';
import type { StreamTiming } from './stream-timing.js';

/**
 * What a stream is made from: given a signal that aborts when the stream is stopped, an async
 * sequence of events. A string is an event of type `message`. It should stop soon after the
 * signal aborts (pass it on to `fetch`): that is what stops an abandoned LLM request costing
 * tokens. The stream does not wait for it: once stopped, the stream ends at once.
 */
export type StreamSource = (signal: AbortSignal) => AsyncIterable<StreamEntry | string>;

export const STOP_REQUESTED = 'Stopped on request.';
const APPEND_ATTEMPTS = 4;
/** Most events one append carries. */
const MAX_BATCH = 256;

/**
 * Runs one stream's source on this instance: appends each event to the store under the next
 * position, renews the lease while it runs, and ends the log with `done`, `failed` (reason) or
 * `stopped` (reason). Resolves with how it ended; `undefined` when the stream was taken from
 * it (ended elsewhere: the lease expired while this instance stalled).
 */
export async function produceStream(
  store: ResumableStore,
  id: string,
  producer: string,
  source: StreamSource,
  timing: StreamTiming,
): Promise<StreamEndType | undefined> {
  const abort = new AbortController();
  let stopReason: string | undefined;
  let lost = false;
  const stop = (reason: string) => {
    if (abort.signal.aborted) return;
    stopReason = reason;
    abort.abort(new Error(reason));
  };
  const stopListening = store.onStopRequest(id, () => stop(STOP_REQUESTED));
  const upkeep = keepLease(store, id, producer, timing, {
    onLost: () => {
      lost = true;
      abort.abort(new Error('the stream ended elsewhere'));
    },
    onStopRequested: () => stop(STOP_REQUESTED),
    onAbandoned: () => stop(`Stopped: nobody was reading for ${timing.graceMs} ms.`),
  });

  let seq = 0;
  let produced = 0;
  let dataLength = 0;
  let end: StreamEntry;
  let iterator: AsyncIterator<StreamEntry | string> | undefined;
  let sourceDone = false;
  let storeError: unknown;
  // Group commit: while one append is on its way to the store, the events the source yields
  // meanwhile wait here and go in the next append together. A slow store then costs round
  // trips per batch, not per token, and the source is never held back by a round trip.
  const pending: StreamEntry[] = [];
  let flushing: Promise<void> | undefined;
  const flush = async () => {
    try {
      while (pending.length > 0 && !lost) {
        const batch = pending.splice(0, MAX_BATCH);
        if ((await appendWithRetry(store, id, producer, seq, batch, timing)) === 'lost') {
          lost = true;
          abort.abort(new Error('the stream ended elsewhere'));
          return;
        }
        seq += batch.length;
      }
    } catch (error) {
      storeError = error;
      abort.abort(error);
    } finally {
      flushing = undefined;
    }
  };
  // Each step races the abort: a source stuck waiting on its upstream must not keep the stream
  // open once it was stopped. One settle function per step (not Promise.race against one
  // long-lived promise, which would keep a reaction per token until the stream ends).
  let rejectStep: ((reason: unknown) => void) | undefined;
  abort.signal.addEventListener('abort', () => rejectStep?.(abort.signal.reason), { once: true });
  const nextStep = (it: AsyncIterator<StreamEntry | string>) =>
    new Promise<IteratorResult<StreamEntry | string>>((resolve, reject) => {
      if (abort.signal.aborted) return reject(abort.signal.reason);
      rejectStep = reject;
      it.next().then(resolve, reject);
    });
  try {
    iterator = source(abort.signal)[Symbol.asyncIterator]();
    for (;;) {
      const step = await nextStep(iterator);
      if (step.done) {
        sourceDone = true;
        break;
      }
      const entry = toEntry(step.value);
      dataLength += entry.data.length;
      if (produced >= timing.maxEvents - 1 || dataLength > timing.maxDataLength) {
        throw new Error(
          `The stream was cut off at ${produced} events: at most ${timing.maxEvents} events and ` +
            `${timing.maxDataLength} characters of data are kept.`,
        );
      }
      if (abort.signal.aborted) break;
      pending.push(entry);
      produced++;
      flushing ??= flush();
      // Bounded: a source much faster than the store waits for it.
      if (pending.length >= MAX_BATCH) await flushing;
    }
    end =
      stopReason !== undefined ? { type: 'stopped', data: stopReason } : { type: 'done', data: '' };
  } catch (error) {
    end =
      stopReason !== undefined
        ? { type: 'stopped', data: stopReason }
        : { type: 'failed', data: error instanceof Error ? error.message : String(error) };
  } finally {
    upkeep.cancel();
    stopListening();
    if (!abort.signal.aborted) abort.abort(new Error('the stream ended'));
    if (iterator && !sourceDone) iterator.return?.()?.catch?.(() => {});
  }
  // What the source yielded before the end is kept, then the terminal event, in order.
  await flushing;
  if (lost || storeError !== undefined) return undefined;
  pending.push(end);
  await flush();
  // Unreachable store: the lease runs out and readers get `failed` then.
  if (lost || storeError !== undefined) return undefined;
  return end.type as StreamEndType;
}

function toEntry(value: StreamEntry | string): StreamEntry {
  if (typeof value === 'string') return { type: 'message', data: value };
  if (typeof value !== 'object' || value === null || typeof value.data !== 'string') {
    throw new TypeError(
      'A stream source yielded something that is neither a string nor { type, data }',
    );
  }
  const type = value.type ?? 'message';
  // The end of a stream is the library's to say: a source that could yield `done` would make
  // readers stop early and never see the rest.
  if (STREAM_END_TYPES.has(type)) {
    throw new TypeError(`A stream source may not yield the event type "${type}": it ends streams`);
  }
  // "event" is a single line on the wire; a CR, LF or NUL in it could forge another event.
  if (type === '' || /[\r\n\0]/.test(type)) {
    throw new TypeError(`A stream source yielded an invalid event type ${JSON.stringify(type)}`);
  }
  return { type, data: value.data };
}

/**
 * Appends are idempotent per producer and position, so a failed attempt (a network error after
 * the store applied it) is simply tried again: it cannot duplicate an event.
 */
async function appendWithRetry(
  store: ResumableStore,
  id: string,
  producer: string,
  seq: number,
  entries: StreamEntry[],
  timing: StreamTiming,
): Promise<'appended' | 'duplicate' | 'lost'> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.append(id, producer, seq, entries, timing.retentionMs);
    } catch (error) {
      if (attempt >= APPEND_ATTEMPTS || error instanceof RangeError) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

interface LeaseEvents {
  onLost(): void;
  onStopRequested(): void;
  onAbandoned(): void;
}

/**
 * Every third of the lease: renew it, look for a stop request whose notification was lost, and
 * check whether anyone still reads (readers anywhere note it in the store).
 */
function keepLease(
  store: ResumableStore,
  id: string,
  producer: string,
  timing: StreamTiming,
  events: LeaseEvents,
): { cancel(): void } {
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  let lastWatched = Date.now();
  const interval = Math.max(1, Math.floor(timing.leaseMs / 3));
  const tick = async () => {
    try {
      const [renewed, stopRequested, watched] = await Promise.all([
        store.renewLease(id, producer, timing.leaseMs),
        store.stopRequested(id),
        store.isWatched(id),
      ]);
      if (cancelled) return;
      if (!renewed) return events.onLost();
      if (stopRequested) events.onStopRequested();
      const now = Date.now();
      if (watched) lastWatched = now;
      else if (now - lastWatched >= timing.graceMs) events.onAbandoned();
    } catch {
      // The store is unreachable for now: try again next tick. If it stays so, the lease
      // runs out and readers get `failed`.
    }
    if (!cancelled) schedule();
  };
  const schedule = () => {
    timer = setTimeout(tick, interval);
  };
  schedule();
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
