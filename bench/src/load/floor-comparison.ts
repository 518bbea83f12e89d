/**
 * How far a system is above the floors (the C epoll server and the bare `net` Node server,
 * floor/floor-process.ts): its latency as a multiple of theirs, median and worst run, and its
 * deliveries per second beside theirs. Shared by bench:server and bench:hub.
 */
import { check, type TargetCheck } from './cli.js';
import { formatCount, formatMs, formatRatio, markdownTable } from './report.js';
import type { LoadSummary } from './summary.js';

export interface FloorRatios {
  /** Our median p50 ÷ the floor's median p50. */
  p50: number;
  /** Our median p99 ÷ the floor's median p99. */
  p99: number;
  /** Our worst run's p99 ÷ the floor's worst run's p99. */
  worstP99: number;
  /** Our median deliveries/s ÷ the floor's. */
  deliveries: number;
}

export function floorRatios(ours: LoadSummary, floor: LoadSummary): FloorRatios {
  return {
    p50: ours.p50Ms.median / floor.p50Ms.median,
    p99: ours.p99Ms.median / floor.p99Ms.median,
    worstP99: ours.p99Ms.max / floor.p99Ms.max,
    deliveries: ours.deliveriesPerSecond.median / floor.deliveriesPerSecond.median,
  };
}

/** The table "<subject> vs each floor"; empty when no floor ran. */
export function floorTable(
  subject: string,
  ours: LoadSummary,
  floors: readonly { label: string; summary: LoadSummary }[],
): string {
  if (floors.length === 0) return '';
  return markdownTable(
    [
      `${subject} vs`,
      'p50 (median, ours ÷ floor)',
      'p99 (median)',
      'p99 (worst run)',
      'deliveries/s (ours ÷ floor)',
    ],
    floors.map(({ label, summary }) => {
      const r = floorRatios(ours, summary);
      return [
        label,
        `${formatRatio(r.p50)} (${formatMs(ours.p50Ms.median)} vs ${formatMs(summary.p50Ms.median)})`,
        `${formatRatio(r.p99)} (${formatMs(ours.p99Ms.median)} vs ${formatMs(summary.p99Ms.median)})`,
        `${formatRatio(r.worstP99)} (${formatMs(ours.p99Ms.max)} vs ${formatMs(summary.p99Ms.max)})`,
        `${formatRatio(r.deliveries)} (${formatCount(ours.deliveriesPerSecond.median)} vs ${formatCount(summary.deliveriesPerSecond.median)})`,
      ];
    }),
  );
}

/** The latency targets against the C floor: p50 ≤ 2× its p50, p99 ≤ 3× its p99 (medians). */
export function cFloorTargets(
  ours: LoadSummary,
  cFloor: LoadSummary | undefined,
  at: string,
): TargetCheck[] {
  const ratios = cFloor === undefined ? undefined : floorRatios(ours, cFloor);
  return [
    check(`p50 ${at} ≤ 2× the C floor's`, ratios?.p50, (v) => v <= 2, formatRatio),
    check(`p99 ${at} ≤ 3× the C floor's`, ratios?.p99, (v) => v <= 3, formatRatio),
  ];
}
