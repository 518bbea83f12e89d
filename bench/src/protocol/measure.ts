/**
 * Interleaved timing for two contenders on a shared, noisy machine. A round gives each
 * contender the same share of the clock in short slices, in the order A B B A A B B A … (the
 * next round starts with the other contender: B A A B …). A burst of load from elsewhere,
 * or the machine switching between a fast and a slow regime (this 2-core virtual machine
 * does, for seconds at a time: both contenders' throughput halves or doubles together),
 * then lands on both contenders alike instead of on whichever one was running:
 * with one long run per contender per round, a switch between the two runs made that
 * round's ratio wrong by the size of the switch. The ABBA order also cancels a steady drift
 * within a round. Each slice is paired with the other contender's slice next to it (A B and
 * B A in each block), and the round's ratio is the median of its pairs' ratios (with the
 * defaults of run.ts, 300 ms per contender in slices of 20 ms or one pass: 15 pairs or more
 * on fast rows, 4 on the slowest, whose one pass over the corpus takes about 80 ms), so a
 * burst that hits a few slices does not decide the round either; each contender's MB/s in a
 * round is likewise the median of its slices. (By CPU time, a round compares the sums over
 * its slices: see Tally.) The summary takes the median of the per-round ratios and reports
 * the slowest round as well.
 *
 * The same rules for both: equal warm-up (interleaved the same way), the same slice length,
 * the same number of slices, the same statistic. No garbage collection is forced between
 * rounds: a full collection frees the objects that optimized code of the callers holds weakly
 * (a parser's closures), and V8 then throws that code away ("weak objects" in --trace-deopt)
 * and compiles it again on a background thread, whose CPU time lands in the next round. With
 * a collection before every round that happened to ours far more often than to the peer.
 * Garbage made inside a round is collected inside it, as it would be in an application.
 *
 * Each slice is timed twice: by the clock, and by the CPU time the process used (all its
 * threads, so the garbage collector's helpers count too). On a machine shared with other
 * work the clock also counts the time the process waited for a core; the CPU time does not.
 * A round whose clock ratio falls far below its CPU-time ratio was slowed from outside, not
 * by the parser.
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
  /** Median of the per-round ratios ours / theirs (see above for a round's ratio). */
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
  /** Shortest time each contender runs in one round (summed over its slices). */
  minRunMs: number;
  warmupMs: number;
  /**
   * Shortest slice: the work repeats until it lasted this long (at least one pass). Short
   * enough that both contenders see the same state of the machine. Default 20 ms.
   */
  sliceMs?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * One contender in one round: the throughput of each of its slices by the clock, and its
 * passes and CPU time summed over them. The CPU time the kernel reports moves in steps of a
 * few milliseconds, too coarse to compare slices of 20 ms one by one; summed over a round it
 * is not, and it does not count waiting for a core, which is what the slices are for.
 */
interface Tally {
  wall: number[];
  passes: number;
  cpuMs: number;
}

/**
 * Runs `work` until `minMs` passed (at least once) and adds its throughput to `tally`;
 * returns the time it took.
 */
function slice(work: () => unknown, bytesPerRun: number, minMs: number, tally: Tally): number {
  let passes = 0;
  const startCpu = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  do {
    work();
    passes++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  const cpu = process.cpuUsage(startCpu);
  tally.wall.push((bytesPerRun * passes) / elapsed / 1000);
  tally.passes += passes;
  tally.cpuMs += (cpu.user + cpu.system) / 1000;
  return elapsed;
}

/**
 * One round: ABBA blocks of slices (BAAB when `theirsFirst`) until each contender ran for
 * `minMs`. Whole blocks only, so both get the same number of slices in mirrored positions.
 */
function round(
  ours: () => unknown,
  theirs: () => unknown,
  bytesPerRun: number,
  minMs: number,
  sliceMs: number,
  theirsFirst: boolean,
): [Tally, Tally] {
  const oursTally: Tally = { wall: [], passes: 0, cpuMs: 0 };
  const theirTally: Tally = { wall: [], passes: 0, cpuMs: 0 };
  const [first, second] = theirsFirst ? [theirs, ours] : [ours, theirs];
  const [firstTally, secondTally] = theirsFirst ? [theirTally, oursTally] : [oursTally, theirTally];
  let firstMs = 0;
  let secondMs = 0;
  do {
    firstMs += slice(first, bytesPerRun, sliceMs, firstTally);
    secondMs += slice(second, bytesPerRun, sliceMs, secondTally);
    secondMs += slice(second, bytesPerRun, sliceMs, secondTally);
    firstMs += slice(first, bytesPerRun, sliceMs, firstTally);
  } while (firstMs < minMs || secondMs < minMs);
  return [oursTally, theirTally];
}

export function compare(
  ours: () => unknown,
  theirs: () => unknown,
  bytesPerRun: number,
  options: MeasureOptions,
): Comparison {
  const sliceMs = options.sliceMs ?? 20;
  // Warm both up the same way before the first timed round, so the JIT has settled.
  round(ours, theirs, bytesPerRun, options.warmupMs, sliceMs, false);
  const oursRounds: Timing[] = [];
  const theirRounds: Timing[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  // Slice i of one contender ran right next to slice i of the other (A B, then B A).
  const pairedRatio = (ours: number[], theirs: number[]) =>
    median(ours.map((value, i) => value / theirs[i]!));
  // A round's throughput by the clock is the median of its slices: a burst of load from
  // elsewhere that slows a few slices of either contender moves neither median. By CPU time,
  // it is the round's bytes over the round's CPU time.
  const timing = (t: Tally): Timing => ({
    wall: median(t.wall),
    cpu: (bytesPerRun * t.passes) / t.cpuMs / 1000,
  });
  for (let r = 0; r < options.rounds; r++) {
    const [o, t] = round(ours, theirs, bytesPerRun, options.minRunMs, sliceMs, r % 2 === 1);
    oursRounds.push(timing(o));
    theirRounds.push(timing(t));
    ratios.push(pairedRatio(o.wall, t.wall));
    cpuRatios.push(timing(o).cpu / timing(t).cpu);
  }
  const sample = (rounds: Timing[]): Sample => {
    const wall = rounds.map((t) => t.wall);
    return { mbPerSecond: median(wall), rounds: wall, cpuRounds: rounds.map((t) => t.cpu) };
  };
  return {
    ours: sample(oursRounds),
    theirs: sample(theirRounds),
    ratio: median(ratios),
    worstRatio: Math.min(...ratios),
    cpuRatio: median(cpuRatios),
    cpuWorstRatio: Math.min(...cpuRatios),
  };
}
