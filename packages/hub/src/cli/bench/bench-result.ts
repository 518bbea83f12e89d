import { cpus } from 'node:os';
import {
  bucketUpperEdgeMicros,
  type ConnectResult,
  type FleetWindow,
  type PublishRun,
  type SequenceCounts,
  type StatsResult,
} from '../../load/index.js';

/** One bar of the latency chart: deliveries whose latency was at most `upToMs`, above the previous bar's. */
export interface LatencyBar {
  upToMs: number;
  count: number;
}

/** What `tidings bench` measured, as `--json` writes it and both reports read it. */
export interface BenchResult {
  tool: 'tidings bench';
  version: string;
  startedAt: string;
  /** The hub endpoint, without credentials. */
  hub: string;
  topic: string;
  /** The run's name, carried in every update it published. */
  marker: string;
  options: {
    subscribers: number;
    rate: number;
    durationMs: number;
    warmupMs: number;
    processes: number;
    publishConnections: number;
  };
  subscribers: {
    requested: number;
    opened: number;
    /** Connection attempts that failed: a status other than 200, a network error, a timeout. */
    refused: number;
    /** Why, and how often each: e.g. `{"status 401": 1000}`. */
    refusedReasons: Record<string, number>;
    /** Open subscriptions the hub ended before the run was over. */
    closedByHub: number;
  };
  publishing: {
    published: number;
    failed: number;
    failures: Record<string, number>;
    elapsedMs: number;
  };
  deliveries: {
    /** Published updates × subscribers that opened. */
    expected: number;
    /** Distinct updates received, summed over the subscribers. */
    received: number;
    /** Deliveries per second in the measured window (after the warm-up). */
    perSecond: number;
    /** Updates a subscriber never received, summed over the subscribers. */
    dropped: number;
    duplicated: number;
    /** Delivered after a later update, though the hub had acknowledged it before that one was sent. */
    outOfOrder: number;
    /** Delivered after a later update that was published while it was still in flight (not the hub's doing). */
    overtaken: number;
  };
  /** Publish-to-receive latency of the deliveries in the measured window. */
  latency: {
    samples: number;
    p50Ms: number | null;
    p90Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    meanMs: number | null;
    bars: LatencyBar[];
  };
  machine: { node: string; platform: string; cpus: number; cpuModel: string };
}

export interface BenchMeasurements {
  version: string;
  startedAt: Date;
  hub: URL;
  topic: string;
  marker: string;
  options: BenchResult['options'];
  connect: ConnectResult;
  publish: PublishRun;
  window: FleetWindow;
  sequence: SequenceCounts;
  stats: StatsResult;
}

export function benchResult(m: BenchMeasurements): BenchResult {
  const hub = new URL(m.hub.href);
  hub.username = '';
  hub.password = '';
  hub.searchParams.delete('authorization');
  const latency = m.window.latency;
  const ms = (micros: number) => (Number.isFinite(micros) ? micros / 1000 : null);
  const empty = latency.count === 0;
  return {
    tool: 'tidings bench',
    version: m.version,
    startedAt: m.startedAt.toISOString(),
    hub: hub.href,
    topic: m.topic,
    marker: m.marker,
    options: m.options,
    subscribers: {
      requested: m.options.subscribers,
      opened: m.connect.opened,
      refused: m.connect.failed,
      refusedReasons: m.connect.errors,
      closedByHub: m.stats.droppedByServer,
    },
    publishing: {
      published: m.publish.published,
      failed: m.publish.failed,
      failures: m.publish.failures,
      elapsedMs: m.publish.elapsedMs,
    },
    deliveries: {
      expected: m.publish.published * m.connect.opened,
      received: m.sequence.received,
      perSecond: m.window.eventsPerSecond,
      dropped: m.sequence.dropped,
      duplicated: m.sequence.duplicated,
      outOfOrder: m.sequence.outOfOrder,
      overtaken: m.sequence.overtaken,
    },
    latency: {
      samples: latency.count,
      p50Ms: ms(latency.percentile(0.5)),
      p90Ms: ms(latency.percentile(0.9)),
      p99Ms: ms(latency.percentile(0.99)),
      maxMs: empty ? null : latency.maxMicros / 1000,
      meanMs: empty ? null : latency.meanMicros / 1000,
      bars: latencyBars(latency.snapshot().buckets),
    },
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
    },
  };
}

/** Bar edges: 1, 1.5, 2, 3, 5, 7 per decade from 0.1 ms to 60 s, so a chart reads on a log scale. */
const EDGES_MS = (() => {
  const edges: number[] = [];
  for (let decade = 0.1; decade < 60_000; decade *= 10) {
    for (const step of [1, 1.5, 2, 3, 5, 7]) edges.push(Math.round(decade * step * 1000) / 1000);
  }
  edges.push(60_000);
  return edges;
})();

/** The histogram's buckets gathered into the chart's bars, from the first bar with data to the last. */
export function latencyBars(buckets: ReadonlyArray<readonly [number, number]>): LatencyBar[] {
  const counts = new Array<number>(EDGES_MS.length).fill(0);
  for (const [index, n] of buckets) {
    const upToMs = bucketUpperEdgeMicros(index) / 1000;
    let bar = EDGES_MS.findIndex((edge) => upToMs <= edge);
    if (bar === -1) bar = EDGES_MS.length - 1;
    counts[bar]! += n;
  }
  const first = counts.findIndex((n) => n > 0);
  if (first === -1) return [];
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const bars: LatencyBar[] = [];
  for (let i = first; i <= last; i++) bars.push({ upToMs: EDGES_MS[i]!, count: counts[i]! });
  return bars;
}
