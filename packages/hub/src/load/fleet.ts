import { fileURLToPath } from 'node:url';
import { RpcChild } from './child-process.js';
import { LatencyHistogram } from './histogram.js';
import type {
  ConnectResult,
  IdleResult,
  LoadRequest,
  MarkerResult,
  SequenceResult,
  StatsResult,
  WindowResult,
} from './messages.js';
import { sourceAddresses } from './source-addresses.js';
import type { SseTarget } from './sse-socket.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
/** Source addresses given to each load process (disjoint between processes). */
const ADDRESSES_PER_PROCESS = 16;

let loadExecArgv: string[] = [];
/** Node flags for every load process started from now on (e.g. `--cpu-prof`). */
export function setLoadExecArgv(execArgv: string[]): void {
  loadExecArgv = execArgv;
}

export interface FleetWindow {
  events: number;
  durationMs: number;
  eventsPerSecond: number;
  latency: LatencyHistogram;
  /** CPU of the busiest load process during the window, as a fraction of one core. */
  maxCpu: number;
  droppedByServer: number;
}

export interface FleetMarker {
  reached: number;
  open: number;
  /** From the first to the last connection receiving the marker, in ms. */
  spreadMs: number;
  /** Monotonic µs of the last arrival. */
  lastAt: number;
}

/**
 * Several load processes acting as one client: connections are split evenly between them
 * and their measurements merged. More than one is needed when one process cannot hold all
 * the sockets (`ulimit -n`) or parse all the deliveries.
 */
export class LoadFleet {
  private constructor(private readonly workers: RpcChild<LoadRequest>[]) {}

  /**
   * Starts the load processes. `execArgv` adds Node flags to each (the runners pass
   * `--cpu-prof` through when asked to profile the client).
   */
  static start(processes: number, execArgv: string[] = loadExecArgv): LoadFleet {
    const workers: RpcChild<LoadRequest>[] = [];
    for (let i = 0; i < processes; i++)
      workers.push(new RpcChild<LoadRequest>(WORKER, [], execArgv));
    return new LoadFleet(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((worker) => worker.pid);
  }

  /** Opens `total` connections, split between the processes. */
  async connect(
    target: SseTarget,
    total: number,
    options: {
      concurrency?: number;
      timeoutMs?: number;
      /** Spread over 127.0.0.x (default): only for a server on this machine's loopback. */
      spreadSourceAddresses?: boolean;
    } = {},
  ): Promise<ConnectResult> {
    const started = Date.now();
    const results = await Promise.all(
      this.workers.map((worker, i) =>
        worker.request<ConnectResult>({
          op: 'connect',
          target,
          count: share(total, this.workers.length, i),
          localAddresses:
            options.spreadSourceAddresses === false
              ? []
              : sourceAddresses(i * ADDRESSES_PER_PROCESS, ADDRESSES_PER_PROCESS),
          concurrency: options.concurrency ?? 128,
          timeoutMs: options.timeoutMs ?? 15_000,
        }),
      ),
    );
    const errors: Record<string, number> = {};
    for (const result of results) {
      for (const [reason, n] of Object.entries(result.errors))
        errors[reason] = (errors[reason] ?? 0) + n;
    }
    return {
      opened: sum(results.map((r) => r.opened)),
      failed: sum(results.map((r) => r.failed)),
      errors,
      elapsedMs: Date.now() - started,
    };
  }

  async measureStart(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.request({ op: 'measure-start' })));
  }

  async measureStop(): Promise<FleetWindow> {
    const results = await Promise.all(
      this.workers.map((worker) => worker.request<WindowResult>({ op: 'measure-stop' })),
    );
    const latency = new LatencyHistogram();
    for (const result of results) latency.merge(result.latency);
    const events = sum(results.map((r) => r.events));
    const durationMs = Math.max(...results.map((r) => r.durationMs));
    return {
      events,
      durationMs,
      eventsPerSecond: events / (durationMs / 1000),
      latency,
      maxCpu: Math.max(...results.map((r) => r.cpu)),
      droppedByServer: sum(results.map((r) => r.droppedByServer)),
    };
  }

  /** Waits until every open connection has an event containing `marker`. */
  async awaitMarker(marker: string, timeoutMs: number): Promise<FleetMarker> {
    const results = await Promise.all(
      this.workers.map((worker) =>
        worker.request<MarkerResult>({ op: 'await-marker', marker, timeoutMs }),
      ),
    );
    const firsts = results.filter((r) => r.firstAt > 0).map((r) => r.firstAt);
    const lasts = results.filter((r) => r.lastAt > 0).map((r) => r.lastAt);
    const first = firsts.length > 0 ? Math.min(...firsts) : 0;
    const last = lasts.length > 0 ? Math.max(...lasts) : 0;
    return {
      reached: sum(results.map((r) => r.reached)),
      open: sum(results.map((r) => r.open)),
      spreadMs: (last - first) / 1000,
      lastAt: last,
    };
  }

  /**
   * Waits until no event has arrived for `quietMs` in any process; says whether that
   * happened before `timeoutMs`, and when the last event arrived.
   */
  async idle(quietMs = 300, timeoutMs = 15_000): Promise<IdleResult> {
    const results = await Promise.all(
      this.workers.map((worker) => worker.request<IdleResult>({ op: 'idle', quietMs, timeoutMs })),
    );
    return {
      quiet: results.every((r) => r.quiet),
      lastEventAt: Math.max(...results.map((r) => r.lastEventAt)),
    };
  }

  /** Every connection opened from now on counts the updates of run `marker` (see SequenceWindow). */
  async trackSequence(marker: string): Promise<void> {
    await Promise.all(
      this.workers.map((worker) => worker.request({ op: 'track-sequence', marker })),
    );
  }

  /** Sequence counts summed over every tracked connection, `last` being the last number sent. */
  async sequence(last: number): Promise<SequenceResult> {
    const results = await Promise.all(
      this.workers.map((worker) => worker.request<SequenceResult>({ op: 'sequence', last })),
    );
    return {
      subscribers: sum(results.map((r) => r.subscribers)),
      received: sum(results.map((r) => r.received)),
      dropped: sum(results.map((r) => r.dropped)),
      duplicated: sum(results.map((r) => r.duplicated)),
      outOfOrder: sum(results.map((r) => r.outOfOrder)),
      overtaken: sum(results.map((r) => r.overtaken)),
    };
  }

  async stats(): Promise<StatsResult> {
    const results = await Promise.all(
      this.workers.map((worker) => worker.request<StatsResult>({ op: 'stats' })),
    );
    return {
      open: sum(results.map((r) => r.open)),
      opened: sum(results.map((r) => r.opened)),
      failed: sum(results.map((r) => r.failed)),
      droppedByServer: sum(results.map((r) => r.droppedByServer)),
      events: sum(results.map((r) => r.events)),
      rssBytes: sum(results.map((r) => r.rssBytes)),
    };
  }

  /** Closes every connection and ends the processes. */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        await worker.request({ op: 'close' }).catch(() => undefined);
        await worker.stop();
      }),
    );
  }
}

function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
