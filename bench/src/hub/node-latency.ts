import { type FleetWindow, LatencyHistogram, LoadFleet } from '@tidings/hub/load';
import { sleep } from '../load/report.js';
import type { HubNodes } from './hub-nodes.js';
import { cpuSeconds } from './process-cpu.js';
import { type CommandCounters, commandCounters, countersSince } from './redis-counters.js';

export interface Latency {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  deliveriesPerSecond: number;
}

export interface NodesLatencyResult {
  /** Index 0 is the node the publisher posts to; the others receive through Redis. */
  perNode: Latency[];
  /** The subscribers of every node but the first, together. */
  crossNode: Latency | undefined;
  all: Latency;
  deliveredRatio: number;
  /** CPU time of all hub processes in the window per delivery, µs. */
  hubCpuPerDeliveryUs: number;
  /** CPU of the hub processes and of redis-server over the window, in cores. */
  hubCores: number;
  redisCores: number;
  /** Redis's own counters over the window (absent on memory://). */
  redisCommands: CommandCounters | undefined;
}

/**
 * Publish-to-receive latency at a fixed rate with the subscribers spread evenly over the
 * nodes (one load process per node) and the publisher posting to the first node: on
 * several nodes, what the first node's subscribers see is the same-node latency and what the
 * others see is the cross-node latency. The CPU of every process and Redis's command
 * counters are read over the same window.
 */
export async function measureNodesLatency(
  hubs: HubNodes,
  options: { subscribers: number; rate: number; warmupMs: number; windowMs: number },
): Promise<NodesLatencyResult> {
  const fleets = hubs.nodes.map(() => LoadFleet.start(1));
  try {
    const share = Math.floor(options.subscribers / hubs.nodes.length);
    await Promise.all(
      hubs.nodes.map(async (node, i) => {
        const count = i === 0 ? options.subscribers - share * (hubs.nodes.length - 1) : share;
        const result = await fleets[i]!.connect(node.target, count, {
          concurrency: 128,
          timeoutMs: 20_000,
        });
        if (result.opened !== count)
          throw new Error(`only ${result.opened} of ${count} connections opened on node ${i + 1}`);
      }),
    );
    const publishing = hubs.nodes[0]!.publish(options.rate, options.warmupMs + options.windowMs);
    await sleep(options.warmupMs);
    const pids = hubs.nodes.map((node) => node.pid);
    const cpuBefore = pids.map(cpuSeconds);
    const redisBefore = hubs.redis ? cpuSeconds(hubs.redis.pid) : Number.NaN;
    const countersBefore = hubs.redis ? await commandCounters(hubs.redis.admin) : undefined;
    await Promise.all(fleets.map((fleet) => fleet.measureStart()));
    const startedAt = performance.now();
    await sleep(options.windowMs);
    const windows = await Promise.all(fleets.map((fleet) => fleet.measureStop()));
    const elapsedS = (performance.now() - startedAt) / 1000;
    const hubCpu = pids.reduce((total, pid, i) => total + cpuSeconds(pid) - cpuBefore[i]!, 0);
    const redisCpu = hubs.redis ? cpuSeconds(hubs.redis.pid) - redisBefore : Number.NaN;
    const countersAfter = hubs.redis ? await commandCounters(hubs.redis.admin) : undefined;
    await publishing;

    const all = mergeWindows(windows, elapsedS);
    const events = all.deliveriesPerSecond * elapsedS;
    return {
      perNode: windows.map((window) => latencyOf(window.latency, window.eventsPerSecond)),
      crossNode: windows.length > 1 ? mergeWindows(windows.slice(1), elapsedS) : undefined,
      all,
      deliveredRatio: all.deliveriesPerSecond / (options.rate * options.subscribers),
      hubCpuPerDeliveryUs: (hubCpu / events) * 1e6,
      hubCores: hubCpu / elapsedS,
      redisCores: redisCpu / elapsedS,
      redisCommands:
        countersBefore && countersAfter ? countersSince(countersBefore, countersAfter) : undefined,
    };
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.close()));
  }
}

function mergeWindows(windows: FleetWindow[], elapsedS: number): Latency {
  const merged = new LatencyHistogram();
  for (const window of windows) merged.merge(window.latency.snapshot());
  const events = windows.reduce((total, window) => total + window.events, 0);
  return latencyOf(merged, events / elapsedS);
}

function latencyOf(histogram: FleetWindow['latency'], deliveriesPerSecond: number): Latency {
  return {
    p50Ms: histogram.percentile(0.5) / 1000,
    p99Ms: histogram.percentile(0.99) / 1000,
    maxMs: histogram.maxMicros / 1000,
    samples: histogram.count,
    deliveriesPerSecond,
  };
}
