import type { HistogramSnapshot } from './histogram.js';
import type { SequenceCounts } from './sequence-window.js';
import type { SseTarget } from './sse-socket.js';

/** Requests from a benchmark runner to a load process, over the IPC channel of `fork`. */
export type LoadRequest =
  | {
      op: 'connect';
      target: SseTarget;
      count: number;
      /** Source addresses to spread the connections over, round robin; none: the system picks. */
      localAddresses: string[];
      /** Connection attempts in flight at once. */
      concurrency: number;
      /** Give up on one connection attempt after this long. */
      timeoutMs: number;
    }
  /** Starts a measurement window: deliveries and latencies counted from now. */
  | { op: 'measure-start' }
  /** Ends the window and reports it. */
  | { op: 'measure-stop' }
  /** Resolves once every open connection has received an event whose data contains `marker`. */
  | { op: 'await-marker'; marker: string; timeoutMs: number }
  /** Resolves once no event has arrived for `quietMs` (or after `timeoutMs`). */
  | { op: 'idle'; quietMs: number; timeoutMs: number }
  | { op: 'stats' }
  /**
   * From now on, every connection that opens keeps a sequence window of the updates whose
   * data carries `"marker":"<marker>"` and a number `"n"`.
   */
  | { op: 'track-sequence'; marker: string }
  /** The summed sequence counts of every tracked connection, open or closed since. */
  | { op: 'sequence'; last: number }
  /** Closes every connection; the process exits after answering. */
  | { op: 'close' };

export interface ConnectResult {
  opened: number;
  failed: number;
  /** Failure reasons and how often each happened. */
  errors: Record<string, number>;
  elapsedMs: number;
}

export interface WindowResult {
  events: number;
  durationMs: number;
  latency: { buckets: HistogramSnapshot; sum: number; max: number };
  /** CPU this load process used during the window, as a fraction of one core. */
  cpu: number;
  /** Connections the server closed during the window. */
  droppedByServer: number;
}

export interface MarkerResult {
  /** Connections that received the marker. */
  reached: number;
  /** Connections open when the wait ended. */
  open: number;
  /** Monotonic µs of the first and last arrival (0 when none arrived). */
  firstAt: number;
  lastAt: number;
}

export interface IdleResult {
  /** False when events kept arriving until the timeout. */
  quiet: boolean;
  /** Monotonic µs of the last event received (0 when none ever was). */
  lastEventAt: number;
}

export interface StatsResult {
  open: number;
  opened: number;
  failed: number;
  droppedByServer: number;
  events: number;
  rssBytes: number;
}

export type SequenceResult = SequenceCounts & { subscribers: number };

export type LoadReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };
