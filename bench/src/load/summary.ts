/**
 * The figures every broadcast benchmark reports per system: its runs reduced to spreads. A
 * phase that was not run gives NaN, which the report prints as "—" and a target as unmet.
 */
import type { LatencyResult, MemoryResult, RampResult } from './phases.js';
import { type Spread, spread } from './stats.js';

export interface LoadRun {
  throughput?: RampResult;
  latency?: LatencyResult;
  memory?: MemoryResult;
}

export interface LoadSummary {
  deliveriesPerSecond: Spread;
  bestRate: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  bytesPerConnection: Spread;
  /** Highest load-client CPU seen at the best step: near 1.0 means the client was the limit. */
  loadCpuAtBest: number;
}

export function summarizeLoad(runs: readonly LoadRun[]): LoadSummary {
  return {
    deliveriesPerSecond: spread(
      runs.map((r) => r.throughput?.best?.deliveriesPerSecond ?? Number.NaN),
    ),
    bestRate: spread(runs.map((r) => r.throughput?.best?.rate ?? Number.NaN)),
    p50Ms: spread(runs.map((r) => r.latency?.p50Ms ?? Number.NaN)),
    p99Ms: spread(runs.map((r) => r.latency?.p99Ms ?? Number.NaN)),
    bytesPerConnection: spread(runs.map((r) => r.memory?.bytesPerConnection ?? Number.NaN)),
    loadCpuAtBest: Math.max(0, ...runs.map((r) => r.throughput?.best?.loadCpu ?? 0)),
  };
}
