/**
 * Interleaved timing for two contenders on a shared, noisy machine: rounds run both back to
 * back (alternating which goes first), each run repeats its work until it lasted long enough to
 * time, and the summary takes medians, so a burst of load from elsewhere skews one round, not
 * the result.
 */

export interface Sample {
  /** Median throughput in MB/s (10^6 bytes per second of input). */
  mbPerSecond: number;
  /** Every round's throughput, in round order. */
  rounds: number[];
}

export interface Comparison {
  ours: Sample;
  theirs: Sample;
  /** Median of the per-round ratios ours / theirs (each round ran both back to back). */
  ratio: number;
}

export interface MeasureOptions {
  rounds: number;
  /** Shortest time one run lasts; the work repeats until it did. */
  minRunMs: number;
  warmupMs: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Runs `work` until `minMs` passed; returns MB/s for `bytesPerRun` bytes of input each time. */
function timeRun(work: () => unknown, bytesPerRun: number, minMs: number): number {
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    work();
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (bytesPerRun * runs) / (elapsed / 1000) / 1e6;
}

export function compare(
  ours: () => unknown,
  theirs: () => unknown,
  bytesPerRun: number,
  options: MeasureOptions,
): Comparison {
  // Warm both up before the first timed round, so the JIT has settled.
  timeRun(ours, bytesPerRun, options.warmupMs);
  timeRun(theirs, bytesPerRun, options.warmupMs);
  const oursRounds: number[] = [];
  const theirRounds: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    if (round % 2 === 0) {
      oursRounds.push(timeRun(ours, bytesPerRun, options.minRunMs));
      theirRounds.push(timeRun(theirs, bytesPerRun, options.minRunMs));
    } else {
      theirRounds.push(timeRun(theirs, bytesPerRun, options.minRunMs));
      oursRounds.push(timeRun(ours, bytesPerRun, options.minRunMs));
    }
  }
  return {
    ours: { mbPerSecond: median(oursRounds), rounds: oursRounds },
    theirs: { mbPerSecond: median(theirRounds), rounds: theirRounds },
    ratio: median(oursRounds.map((value, i) => value / theirRounds[i]!)),
  };
}
