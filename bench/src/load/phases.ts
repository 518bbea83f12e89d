import type { LatencyHistogram } from '@tidings/hub/load';
import { LoadFleet, nowMicros } from '@tidings/hub/load';
import type { StartSystem, SystemUnderTest } from './system-under-test.js';

/**
 * The measurements both `bench:server` and `bench:hub` make. Each phase starts a fresh
 * server (so a backlog left by an overloaded step cannot leak into the next phase), its own
 * load processes, and stops them all before returning.
 */

export interface RampStep {
  /** Events published per second. */
  rate: number;
  /** Deliveries the load client counted per second in the measured window. */
  deliveriesPerSecond: number;
  /** Deliveries counted / deliveries expected (rate × subscribers) in the window. */
  deliveredRatio: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * From the end of publishing to the last delivery: near the latency when the server kept
   * up, the time to work off its queue when it did not.
   */
  drainMs: number;
  /** Busiest load process's CPU in the window, as a fraction of one core. */
  loadCpu: number;
  accepted: boolean;
  /** Why a step was not accepted. */
  reason?: string;
}

export interface RampResult {
  subscribers: number;
  steps: RampStep[];
  /** The highest accepted step; undefined when not even the first rate was accepted. */
  best: RampStep | undefined;
}

export interface RampOptions {
  subscribers: number;
  startRate: number;
  /** Each step publishes this many times the previous rate until one is not accepted. */
  growth: number;
  /** Steps of bisection between the last accepted and the first refused rate. */
  refine: number;
  warmupMs: number;
  windowMs: number;
  /** A step is accepted when at least this share of the expected deliveries arrived ... */
  minDeliveredRatio: number;
  /** ... and the p99 publish-to-receive latency, and the drain after publishing stopped, stayed below this. */
  maxP99Ms: number;
  maxRate: number;
  loadProcesses: number;
}

export const DEFAULT_RAMP: RampOptions = {
  subscribers: 1000,
  startRate: 20,
  growth: 1.5,
  refine: 2,
  warmupMs: 750,
  windowMs: 2_500,
  minDeliveredRatio: 0.95,
  maxP99Ms: 250,
  maxRate: 5_000,
  // Two, so that no single client process is what runs out of CPU first.
  loadProcesses: 2,
};

/**
 * Deliveries per second at the highest publish rate the server keeps up with: the rate
 * grows step by step until the deliveries fall behind (fewer arrive than were sent, or the
 * latency shows a queue building) twice in a row, then bisects between the last good and the
 * first bad rate.
 * All steps run against one server and one set of subscribers; after each step the
 * publisher stops and the client waits for the stream to go quiet: how long that takes is
 * the clearest sign of a queue that built up.
 */
export async function rampThroughput(
  start: StartSystem,
  options: RampOptions,
): Promise<RampResult> {
  return withSystem(start, options.loadProcesses, async (system, fleet) => {
    await connectAll(fleet, system, options.subscribers);
    const steps: RampStep[] = [];
    const runStep = async (rate: number): Promise<RampStep> => {
      const step = await measureRate(system, fleet, rate, options);
      steps.push(step);
      return step;
    };
    // A shared machine has moments when any server stalls: a step counts as refused only
    // when it fails twice in a row at the same rate.
    const runConfirmedStep = async (rate: number): Promise<boolean> => {
      if ((await runStep(rate)).accepted) return true;
      return (await runStep(rate)).accepted;
    };
    let good: number | undefined;
    let bad: number | undefined;
    for (
      let rate = options.startRate;
      rate <= options.maxRate;
      rate = Math.round(rate * options.growth)
    ) {
      if (!(await runConfirmedStep(rate))) {
        bad = rate;
        break;
      }
      good = rate;
    }
    if (good !== undefined && bad !== undefined) {
      for (let i = 0; i < options.refine; i++) {
        const rate = Math.round(Math.sqrt(good * bad));
        if (rate <= good || rate >= bad) break;
        if (await runConfirmedStep(rate)) good = rate;
        else bad = rate;
      }
    }
    const accepted = steps.filter((step) => step.accepted);
    const best = accepted.reduce<RampStep | undefined>(
      (a, b) => (a === undefined || b.deliveriesPerSecond > a.deliveriesPerSecond ? b : a),
      undefined,
    );
    return { subscribers: options.subscribers, steps, best };
  });
}

async function measureRate(
  system: SystemUnderTest,
  fleet: LoadFleet,
  rate: number,
  options: RampOptions,
): Promise<RampStep> {
  // A publisher that fails (a hub refusing publishes) fails the step, not the benchmark.
  const publishing = system.publish(rate, options.warmupMs + options.windowMs).then(
    () => undefined,
    (error: Error) => error.message,
  );
  await sleep(options.warmupMs);
  await fleet.measureStart();
  await sleep(options.windowMs);
  const window = await fleet.measureStop();
  const publishFailure = await publishing;
  const publishedAt = nowMicros();
  // Also lets an overloaded step work off its backlog before the next step starts.
  const idle = await fleet.idle(300, 30_000);
  const drainMs = Math.max(0, (idle.lastEventAt - publishedAt) / 1000);
  const expected = rate * options.subscribers;
  const deliveredRatio = window.eventsPerSecond / expected;
  const p50Ms = window.latency.percentile(0.5) / 1000;
  const p99Ms = window.latency.percentile(0.99) / 1000;
  let reason: string | undefined;
  if (publishFailure !== undefined) reason = publishFailure;
  else if (window.droppedByServer > 0)
    reason = `server closed ${window.droppedByServer} connections`;
  else if (deliveredRatio < options.minDeliveredRatio) {
    reason = `delivered ${(deliveredRatio * 100).toFixed(1)}% of ${expected}/s`;
  } else if (!(p99Ms <= options.maxP99Ms)) reason = `p99 ${p99Ms.toFixed(1)} ms`;
  else if (drainMs > options.maxP99Ms)
    reason = `${drainMs.toFixed(0)} ms to drain after publishing`;
  return {
    rate,
    deliveriesPerSecond: window.eventsPerSecond,
    deliveredRatio,
    p50Ms,
    p99Ms,
    drainMs,
    loadCpu: window.maxCpu,
    accepted: reason === undefined,
    ...(reason === undefined ? {} : { reason }),
  };
}

export interface LatencyResult {
  rate: number;
  subscribers: number;
  deliveredRatio: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

/** Publish-to-receive latency at a fixed, moderate rate. */
export async function measureLatency(
  start: StartSystem,
  options: {
    subscribers: number;
    rate: number;
    warmupMs: number;
    windowMs: number;
    loadProcesses: number;
  },
): Promise<LatencyResult> {
  return withSystem(start, options.loadProcesses, async (system, fleet) => {
    await connectAll(fleet, system, options.subscribers);
    const publishing = system.publish(options.rate, options.warmupMs + options.windowMs);
    await sleep(options.warmupMs);
    await fleet.measureStart();
    await sleep(options.windowMs);
    const window = await fleet.measureStop();
    await publishing;
    return summarizeLatency(window.latency, window.eventsPerSecond, options);
  });
}

function summarizeLatency(
  latency: LatencyHistogram,
  eventsPerSecond: number,
  options: { subscribers: number; rate: number },
): LatencyResult {
  return {
    rate: options.rate,
    subscribers: options.subscribers,
    deliveredRatio: eventsPerSecond / (options.rate * options.subscribers),
    p50Ms: latency.percentile(0.5) / 1000,
    p99Ms: latency.percentile(0.99) / 1000,
    maxMs: latency.maxMicros / 1000,
    samples: latency.count,
  };
}

export interface MemoryResult {
  connections: number;
  opened: number;
  baselineRssBytes: number;
  loadedRssBytes: number;
  /** (loaded − baseline) / opened connections. */
  bytesPerConnection: number;
}

/** Server RSS per idle connection: RSS with `connections` open minus RSS with none. */
export async function measureIdleMemory(
  start: StartSystem,
  options: { connections: number; loadProcesses: number; settleMs: number },
): Promise<MemoryResult> {
  return withSystem(start, options.loadProcesses, async (system, fleet) => {
    // A few connections first, so the one-time costs of the first request (lazy-loaded
    // modules, JIT) land in the baseline, not in the per-connection figure.
    const warm = LoadFleet.start(1);
    try {
      await connectAll(warm, system, 10);
    } finally {
      await warm.close();
    }
    await sleep(options.settleMs);
    const baselineRssBytes = await system.rssBytes();
    const connected = await connectAll(fleet, system, options.connections, false);
    await sleep(options.settleMs);
    const loadedRssBytes = await system.rssBytes();
    return {
      connections: options.connections,
      opened: connected,
      baselineRssBytes,
      loadedRssBytes,
      bytesPerConnection: (loadedRssBytes - baselineRssBytes) / connected,
    };
  });
}

export interface BroadcastResult {
  connections: number;
  opened: number;
  connectErrors: Record<string, number>;
  connectMs: number;
  reached: number;
  /** From publishing the broadcast to the last connection receiving it. */
  elapsedMs: number;
  serverRssBytes: number;
}

/** Holds `connections` at once and times one broadcast reaching every one of them. */
export async function holdAndBroadcast(
  start: StartSystem,
  options: { connections: number; loadProcesses: number; timeoutMs: number },
): Promise<BroadcastResult> {
  return withSystem(start, options.loadProcesses, async (system, fleet) => {
    const connect = await fleet.connect(system.target, options.connections, {
      concurrency: 256,
      timeoutMs: 30_000,
    });
    const serverRssBytes = await system.rssBytes();
    const marker = `broadcast-${Date.now()}`;
    const waiting = fleet.awaitMarker(marker, options.timeoutMs);
    // The await-marker requests must be in place in every load process before publishing.
    await sleep(200);
    const startedAt = process.hrtime.bigint();
    await system.publishMarker(marker);
    const reached = await waiting;
    const elapsedMs =
      reached.lastAt === 0 ? Number.NaN : reached.lastAt / 1000 - Number(startedAt / 1000n) / 1000;
    return {
      connections: options.connections,
      opened: connect.opened,
      connectErrors: connect.errors,
      connectMs: connect.elapsedMs,
      reached: reached.reached,
      elapsedMs,
      serverRssBytes,
    };
  });
}

async function withSystem<T>(
  start: StartSystem,
  loadProcesses: number,
  body: (system: SystemUnderTest, fleet: LoadFleet) => Promise<T>,
): Promise<T> {
  const system = await start();
  const fleet = LoadFleet.start(loadProcesses);
  try {
    return await body(system, fleet);
  } finally {
    await fleet.close();
    await system.stop();
  }
}

/** Opens the connections; fails loudly unless every one opened (when `strict`). */
async function connectAll(
  fleet: LoadFleet,
  system: SystemUnderTest,
  count: number,
  strict = true,
): Promise<number> {
  const result = await fleet.connect(system.target, count, { concurrency: 128, timeoutMs: 20_000 });
  if (strict && result.opened !== count) {
    throw new Error(
      `${system.name}: only ${result.opened} of ${count} connections opened: ${JSON.stringify(result.errors)}`,
    );
  }
  return result.opened;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
