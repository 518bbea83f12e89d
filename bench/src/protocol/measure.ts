/**
 * Interleaved timing for two contenders on a shared, noisy machine: rounds run both back to
 * back (alternating which goes first), each run repeats its work until it lasted long enough to
 * time, and the summary takes medians, so a burst of load from elsewhere skews one round, not
 * the result.
 *
 * Each run is timed twice: by the clock, and by the CPU time the process used (all its threads,
 * so the garbage collector's helpers count too). On a machine shared with other work the clock
 * also counts the time the process waited for a core; the CPU time does not. A round whose
 * clock ratio falls far below its CPU-time ratio was slowed from outside, not by the parser.
 */

export interface Sample {
  /** Median throughput in MB/s (10^6 bytes per second of input), by the clock. */
  mbPerSecond: number;
  /** Every round's throughput by the clock, in round order. */
  rounds: number[];
  /** Every round's throughput by the CPU time the process used, in round order. */
  cpuRounds: number[];
}

export interface Comparison {
  ours: Sample;
  theirs: Sample;
  /** Median of the per-round ratios ours / theirs (each round ran both back to back). */
  ratio: number;
  /** The least per-round ratio: the slowest round. */
  worstRatio: number;
  /** Median of the per-round ratios of throughput by CPU time. */
  cpuRatio: number;
  /** The least per-round ratio by CPU time. */
  cpuWorstRatio: number;
}

interface Timing {
  /** MB/s by the clock. */
  wall: number;
  /** MB/s by the CPU time of the process. */
  cpu: number;
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
function timeRun(work: () => unknown, bytesPerRun: number, minMs: number): Timing {
  let runs = 0;
  const startCpu = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  do {
    work();
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  const cpu = process.cpuUsage(startCpu);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    wall: (bytesPerRun * runs) / (elapsed / 1000) / 1e6,
    cpu: (bytesPerRun * runs) / (cpuMs / 1000) / 1e6,
  };
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
  const oursRounds: Timing[] = [];
  const theirRounds: Timing[] = [];
  for (let round = 0; round < options.rounds; round++) {
    if (round % 2 === 0) {
      oursRounds.push(timeRun(ours, bytesPerRun, options.minRunMs));
      theirRounds.push(timeRun(theirs, bytesPerRun, options.minRunMs));
    } else {
      theirRounds.push(timeRun(theirs, bytesPerRun, options.minRunMs));
      oursRounds.push(timeRun(ours, bytesPerRun, options.minRunMs));
    }
  }
  const sample = (rounds: Timing[]): Sample => {
    const wall = rounds.map((t) => t.wall);
    return { mbPerSecond: median(wall), rounds: wall, cpuRounds: rounds.map((t) => t.cpu) };
  };
  const ratios = oursRounds.map((t, i) => t.wall / theirRounds[i]!.wall);
  const cpuRatios = oursRounds.map((t, i) => t.cpu / theirRounds[i]!.cpu);
  return {
    ours: sample(oursRounds),
    theirs: sample(theirRounds),
    ratio: median(ratios),
    worstRatio: Math.min(...ratios),
    cpuRatio: median(cpuRatios),
    cpuWorstRatio: Math.min(...cpuRatios),
  };
}
