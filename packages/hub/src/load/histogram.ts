/**
 * A latency histogram in microseconds, cheap enough to record every delivery at hundreds of
 * thousands per second, and mergeable across load processes.
 *
 * Buckets are 10 µs wide up to 100 ms (where the interesting percentiles live) and 1 ms wide
 * from there to 60 s; anything slower lands in the last bucket. Percentiles are therefore
 * exact to 10 µs below 100 ms and to 1 ms above.
 */
const FINE_WIDTH_US = 10;
const FINE_LIMIT_US = 100_000;
const COARSE_WIDTH_US = 1_000;
const COARSE_LIMIT_US = 60_000_000;
const FINE_BUCKETS = FINE_LIMIT_US / FINE_WIDTH_US;
const BUCKETS = FINE_BUCKETS + (COARSE_LIMIT_US - FINE_LIMIT_US) / COARSE_WIDTH_US + 1;

/** Sparse form for IPC: [bucket index, count] pairs. */
export type HistogramSnapshot = Array<[number, number]>;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private maxValue = 0;

  record(micros: number): void {
    // A negative value can only come from a clock read out of order; count it as zero.
    const value = Math.max(micros, 0);
    let index: number;
    if (value < FINE_LIMIT_US) index = Math.floor(value / FINE_WIDTH_US);
    else if (value < COARSE_LIMIT_US) {
      index = FINE_BUCKETS + Math.floor((value - FINE_LIMIT_US) / COARSE_WIDTH_US);
    } else index = BUCKETS - 1;
    this.counts[index]! += 1;
    this.total++;
    this.sum += value;
    if (value > this.maxValue) this.maxValue = value;
  }

  get count(): number {
    return this.total;
  }

  get maxMicros(): number {
    return this.maxValue;
  }

  get meanMicros(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** The upper edge of the bucket holding the q-quantile (0 < q <= 1), in microseconds. */
  percentile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperEdge(i), this.maxValue);
    }
    return this.maxValue;
  }

  snapshot(): { buckets: HistogramSnapshot; sum: number; max: number } {
    const buckets: HistogramSnapshot = [];
    for (let i = 0; i < BUCKETS; i++) {
      const n = this.counts[i]!;
      if (n !== 0) buckets.push([i, n]);
    }
    return { buckets, sum: this.sum, max: this.maxValue };
  }

  merge(snapshot: { buckets: HistogramSnapshot; sum: number; max: number }): void {
    for (const [index, n] of snapshot.buckets) {
      this.counts[index]! += n;
      this.total += n;
    }
    this.sum += snapshot.sum;
    if (snapshot.max > this.maxValue) this.maxValue = snapshot.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.maxValue = 0;
  }
}

/** The upper edge of a snapshot's bucket `index`, in microseconds. */
export function bucketUpperEdgeMicros(index: number): number {
  return upperEdge(index);
}

function upperEdge(index: number): number {
  if (index < FINE_BUCKETS) return (index + 1) * FINE_WIDTH_US;
  return FINE_LIMIT_US + (index - FINE_BUCKETS + 1) * COARSE_WIDTH_US;
}
