/**
 * The `scale` phase of `npm run bench:hub`: how far one machine takes the hub. N subscribers
 * (100 000 by default) held at once by `tidings serve --workers W --transport redis://…`, one
 * broadcast timed until every one of them has it, and the resident memory per idle
 * connection summed over every hub process; against the most one process can hold under
 * `ulimit -n` (90% of it, ~18 000 here) on memory:// and on redis://, in the same run.
 *
 * The load fleet spreads its connections over 127.0.0.x source addresses and keeps each
 * load process well inside its own descriptor limit. Every step is bounded: each connection
 * has a timeout, the broadcast has one, and a watchdog ends the whole benchmark (killing
 * every process it started) if one system's measurement overruns.
 */

import { LoadFleet } from '@tidings/hub/load';
import { check, type TargetCheck, writeResults } from '../load/cli.js';
import {
  formatBytes,
  formatCount,
  formatMs,
  formatRatio,
  machineInfo,
  markdownTable,
  sleep,
} from '../load/report.js';
import { type Spread, spread } from '../load/stats.js';
import type { StartSystem } from '../load/system-under-test.js';
import { startHub } from './hub-process.js';
import { startRedisHub } from './redis-process.js';

export interface ScaleOptions {
  /** Connections held by the hub with workers. */
  connections: number;
  /** Hub processes (`--workers`) for them. */
  workers: number;
  runs: number;
  /** The open-file limit of every process here (`ulimit -n`). */
  openFilesLimit: number;
  profileArgv: string[];
  quick: boolean;
  write: boolean;
  command: string;
}

export interface ScaleRun {
  connections: number;
  opened: number;
  connectErrors: Record<string, number>;
  connectMs: number;
  reached: number;
  /** From sending the publish request to the last subscriber receiving the event. */
  broadcastMs: number;
  hubProcesses: number;
  baselineRssBytes: number;
  loadedRssBytes: number;
  /** (loaded − baseline) / opened, over every hub process. */
  bytesPerConnection: number;
}

/** Connections one load process holds at most: well inside its own descriptor limit. */
const PER_LOAD_PROCESS = 16_000;
const BROADCAST_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 60_000;

interface ScaleSystem {
  label: string;
  connections: number;
  processes: number;
  start: StartSystem;
}

/** Runs the phase, prints its table and writes bench/results/hub-scale.{json,md}. */
export async function runScale(options: ScaleOptions): Promise<void> {
  const { openFilesLimit, workers } = options;
  const single = Math.floor(openFilesLimit * 0.9);
  const perWorker = Math.ceil(options.connections / workers);
  if (perWorker > single) {
    throw new Error(
      `scale: ${formatCount(options.connections)} connections on ${workers} workers is ${formatCount(perWorker)} per process, above 90% of ulimit -n ${openFilesLimit}; use --workers ${Math.ceil(options.connections / single)} or more`,
    );
  }
  const systems: ScaleSystem[] = [
    {
      label: '@tidings/hub, 1 process, memory://',
      connections: single,
      processes: 1,
      start: () => startHub([], options.profileArgv),
    },
    {
      label: '@tidings/hub, 1 process, redis://',
      connections: single,
      processes: 1,
      start: () => startRedisHub(options.profileArgv),
    },
    {
      label: `@tidings/hub, ${workers} workers, redis://`,
      connections: options.connections,
      processes: workers + 1,
      start: () => startRedisHub(options.profileArgv, ['--workers', String(workers)]),
    },
  ];
  const started = Date.now();
  console.log(
    `bench:hub scale: ${formatCount(options.connections)} connections on ${workers} workers vs ${formatCount(single)} on one process; ${options.runs} run(s), ulimit -n ${openFilesLimit}`,
  );
  const results = new Map<string, ScaleRun[]>(systems.map((s) => [s.label, []]));
  for (let run = 0; run < options.runs; run++) {
    const order = systems.map((_, i) => systems[(i + run) % systems.length]!);
    for (const system of order) {
      const result = await withWatchdog(system, () => measureScale(system, options));
      results.get(system.label)!.push(result);
      console.log(
        `  run ${run + 1}/${options.runs} ${system.label.padEnd(36)} ` +
          `${formatCount(result.opened)}/${formatCount(result.connections)} open in ${formatMs(result.connectMs)}, ` +
          `${formatCount(result.reached)} reached in ${formatMs(result.broadcastMs)}, ` +
          `${formatBytes(result.bytesPerConnection)}/connection over ${result.hubProcesses} process(es)`,
      );
    }
  }
  report(systems, results, options, started);
}

/** Ends the whole benchmark if one measurement overruns: it must stop by itself. */
async function withWatchdog<T>(system: ScaleSystem, body: () => Promise<T>): Promise<T> {
  // Connecting at a few thousand per second, two settles, the broadcast and the shutdown.
  const limitMs = 5 * 60_000 + system.connections * 2;
  const watchdog = setTimeout(() => {
    console.error(`scale: ${system.label} ran over ${formatMs(limitMs)}; stopping everything`);
    process.exit(1);
  }, limitMs);
  try {
    return await body();
  } finally {
    clearTimeout(watchdog);
  }
}

async function measureScale(system: ScaleSystem, options: ScaleOptions): Promise<ScaleRun> {
  const settleMs = options.quick ? 1_000 : 3_000;
  const hub = await system.start();
  const fleet = LoadFleet.start(Math.ceil(system.connections / PER_LOAD_PROCESS));
  try {
    // A few connections first, so the one-time costs of the first requests (in every worker)
    // land in the baseline.
    const warm = LoadFleet.start(1);
    try {
      await warm.connect(hub.target, 10 * system.processes, { concurrency: 16 });
    } finally {
      await warm.close();
    }
    await sleep(settleMs);
    const baselineRssBytes = await hub.rssBytes();
    const connect = await fleet.connect(hub.target, system.connections, {
      concurrency: 256,
      timeoutMs: CONNECT_TIMEOUT_MS,
    });
    await sleep(settleMs);
    const loadedRssBytes = await hub.rssBytes();
    const marker = `scale-${Date.now()}`;
    const waiting = fleet.awaitMarker(marker, BROADCAST_TIMEOUT_MS);
    // The await-marker requests must be in place in every load process before publishing.
    await sleep(200);
    const sentAt = process.hrtime.bigint();
    await hub.publishMarker(marker);
    const reached = await waiting;
    return {
      connections: system.connections,
      opened: connect.opened,
      connectErrors: connect.errors,
      connectMs: connect.elapsedMs,
      reached: reached.reached,
      broadcastMs:
        reached.lastAt === 0 ? Number.NaN : reached.lastAt / 1000 - Number(sentAt / 1000n) / 1000,
      hubProcesses: system.processes,
      baselineRssBytes,
      loadedRssBytes,
      bytesPerConnection: (loadedRssBytes - baselineRssBytes) / connect.opened,
    };
  } finally {
    await fleet.close();
    await hub.stop();
  }
}

interface ScaleSummary {
  system: string;
  connections: number;
  opened: Spread;
  reached: Spread;
  broadcastMs: Spread;
  connectMs: Spread;
  bytesPerConnection: Spread;
  loadedRssBytes: Spread;
}

function report(
  systems: ScaleSystem[],
  results: Map<string, ScaleRun[]>,
  options: ScaleOptions,
  started: number,
): void {
  const summaries = systems.map((system): ScaleSummary => {
    const runs = results.get(system.label)!;
    return {
      system: system.label,
      connections: system.connections,
      opened: spread(runs.map((r) => r.opened)),
      reached: spread(runs.map((r) => r.reached)),
      broadcastMs: spread(runs.map((r) => r.broadcastMs)),
      connectMs: spread(runs.map((r) => r.connectMs)),
      bytesPerConnection: spread(runs.map((r) => r.bytesPerConnection)),
      loadedRssBytes: spread(runs.map((r) => r.loadedRssBytes)),
    };
  });
  const [memory, redis, workers] = summaries as [ScaleSummary, ScaleSummary, ScaleSummary];
  const table = markdownTable(
    [
      'system',
      'connections held (worst run)',
      'reached by one broadcast (worst run)',
      'broadcast time, median (worst)',
      'RSS / idle connection, median (worst)',
      'hub RSS with all held, median',
      'time to open all, median',
    ],
    summaries.map((s) => [
      s.system,
      `${formatCount(s.opened.min)} of ${formatCount(s.connections)}`,
      formatCount(s.reached.min),
      `${formatMs(s.broadcastMs.median)} (${formatMs(s.broadcastMs.max)})`,
      `${formatBytes(s.bytesPerConnection.median)} (${formatBytes(s.bytesPerConnection.max)})`,
      formatBytes(s.loadedRssBytes.median),
      formatMs(s.connectMs.median),
    ]),
  );
  const ratioTable = markdownTable(
    [`${workers.system} vs one process`, 'connections', 'broadcast time', 'RSS / connection'],
    [memory, redis].map((one) => [
      `vs ${one.system}`,
      `${formatRatio(workers.connections / one.connections)} as many`,
      `${formatRatio(workers.broadcastMs.median / one.broadcastMs.median)} as long`,
      `${formatRatio(workers.bytesPerConnection.median / one.bytesPerConnection.median)} as much`,
    ]),
  );
  const targets: TargetCheck[] = summaries.map((s) =>
    check(
      `every one of ${formatCount(s.connections)} connections reached (${s.system}), in every run`,
      s.reached.min,
      (v) => v === s.connections,
      (v) => `${formatCount(v)} of ${formatCount(s.connections)} (worst run)`,
    ),
  );
  const machine = { ...machineInfo(), openFilesLimit: options.openFilesLimit };
  const markdown = [
    '# bench:hub — scale',
    '',
    `\`${options.command}\` — ${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ulimit -n ${options.openFilesLimit} per process, load average before the start ${machine.loadAverageAtStart.map((v) => v.toFixed(2)).join(' ')}. Hub, redis-server and load processes share the machine's cores.`,
    '',
    table,
    '',
    ratioTable,
    '',
    'Targets:',
    '',
    ...targets.map((t) => `- ${t.met ? '✅' : '❌'} ${t.name}: ${t.value}`),
    '',
    `- Medians of ${options.runs} run(s), the worst run in brackets; systems in a rotating order.`,
    `- Subscribers: idle SSE connections from ${Math.ceil(options.connections / PER_LOAD_PROCESS)} load processes (at most ${formatCount(PER_LOAD_PROCESS)} each) over 127.0.0.x source addresses, opened 256 at a time per process.`,
    '- Broadcast: one update published over HTTP to the hub; the time runs from sending the publish request to the last subscriber receiving the event. With workers the update goes through Redis to every worker.',
    '- Memory: RSS summed over every hub process (the primary and its workers), each after a full GC, with the connections open minus before them (after a few warm-up connections). redis-server is not counted: it holds no connection state.',
    '',
  ].join('\n');
  console.log(`\n${markdown}`);
  if (options.write && !options.quick) {
    writeResults(
      'hub-scale',
      {
        benchmark: 'hub-scale',
        command: options.command,
        date: new Date(started).toISOString(),
        durationSeconds: (Date.now() - started) / 1000,
        machine,
        options: { connections: options.connections, workers: options.workers, runs: options.runs },
        summary: summaries,
        targets,
        runs: Object.fromEntries(results),
      },
      markdown,
    );
  }
}
