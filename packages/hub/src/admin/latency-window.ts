/** Upper bounds of the buckets, in ms: the same as the publish-to-write histogram's, finer below 1 ms. */
const BOUNDS_MS = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  Number.POSITIVE_INFINITY,
];

/** Latencies recorded in the last {@link LatencyWindow.seconds}, summarised as the dashboard draws them. */
export interface LatencySummary {
  /** Observations in the window. */
  count: number;
  /** Median and 99th percentile in ms (the upper bound of the bucket they fall in); null when empty. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/**
 * The publish-to-write latency of the last few seconds. The Prometheus histogram counts
 * since the start, which shows nothing of what happens now; this keeps one row of bucket
 * counts per second in a ring, so memory is fixed (seconds × buckets numbers) and recording
 * is one array increment.
 */
export class LatencyWindow {
  readonly seconds: number;
  readonly #counts: Uint32Array;
  /** The second (since the epoch) each row of the ring holds. */
  readonly #rowSecond: Float64Array;
  readonly #now: () => number;

  constructor(options: { seconds?: number; now?: () => number } = {}) {
    this.seconds = options.seconds ?? 10;
    this.#now = options.now ?? Date.now;
    this.#counts = new Uint32Array(this.seconds * BOUNDS_MS.length);
    this.#rowSecond = new Float64Array(this.seconds).fill(-1);
  }

  /**
   * Records one latency, in seconds (as the histogram takes it). `nowMs`: the time it was
   * measured at, in ms since the epoch, when the caller has it (a batch reads the clock once).
   */
  record(seconds: number, nowMs = this.#now()): void {
    const second = Math.floor(nowMs / 1000);
    const row = second % this.seconds;
    if (this.#rowSecond[row] !== second) {
      this.#counts.fill(0, row * BOUNDS_MS.length, (row + 1) * BOUNDS_MS.length);
      this.#rowSecond[row] = second;
    }
    const ms = seconds * 1000;
    let bucket = 0;
    while (ms > BOUNDS_MS[bucket]!) bucket++;
    this.#counts[row * BOUNDS_MS.length + bucket]!++;
  }

  summary(): LatencySummary {
    const oldest = Math.floor(this.#now() / 1000) - this.seconds + 1;
    const totals = new Array<number>(BOUNDS_MS.length).fill(0);
    let count = 0;
    for (let row = 0; row < this.seconds; row++) {
      if (this.#rowSecond[row]! < oldest) continue;
      for (let bucket = 0; bucket < BOUNDS_MS.length; bucket++) {
        const n = this.#counts[row * BOUNDS_MS.length + bucket]!;
        totals[bucket]! += n;
        count += n;
      }
    }
    return { count, p50Ms: quantile(totals, count, 0.5), p99Ms: quantile(totals, count, 0.99) };
  }
}

function quantile(totals: number[], count: number, q: number): number | null {
  if (count === 0) return null;
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let bucket = 0; bucket < totals.length; bucket++) {
    seen += totals[bucket]!;
    if (seen >= rank) {
      const bound = BOUNDS_MS[bucket]!;
      // Past the last finite bound the bucket has no upper edge: report that edge as a floor.
      return Number.isFinite(bound) ? bound : BOUNDS_MS[BOUNDS_MS.length - 2]!;
    }
  }
  return null;
}
