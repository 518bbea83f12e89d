/**
 * `npm run bench:server`: @tidings/server's Channel against better-sse's Channel and a
 * hand-written node:http loop, each broadcasting over real loopback sockets from its own
 * process to subscribers held by separate load processes; under them, two floors that put
 * the same bytes on the wire with nothing else: a minimal C epoll server and a Node server on
 * bare `net` sockets (see floor/floor-process.ts).
 *
 * Per server and run: the deliveries per second at the highest publish rate it keeps up with
 * (1000 subscribers), the publish-to-receive latency at 100 events/s to 1000 subscribers, and
 * the server's RSS per idle connection with 10 000 connections. Medians of several runs, the
 * spread between runs, and the ratios go to bench/results/server.{json,md}.
 */

import { setLoadExecArgv } from '@tidings/hub/load';
import {
  C_FLOOR_LABEL,
  cFloorProblem,
  NET_FLOOR_LABEL,
  startCFloor,
  startNetFloor,
} from '../floor/floor-process.js';
import { check, fail, listOf, parseOptions, positiveInteger, writeResults } from '../load/cli.js';
import { cFloorTargets, floorRatios, floorTable } from '../load/floor-comparison.js';
import {
  DEFAULT_RAMP,
  type LatencyResult,
  type MemoryResult,
  measureIdleMemory,
  measureLatency,
  type RampResult,
  rampThroughput,
} from '../load/phases.js';
import {
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  formatRatio,
  machineInfo,
  markdownTable,
} from '../load/report.js';
import { type LoadSummary, summarizeLoad } from '../load/summary.js';
import type { StartSystem } from '../load/system-under-test.js';
import { NODE_SERVERS, type NodeServerName, startNodeServer } from './node-server-process.js';
import type { PublishMode } from './publish-loop.js';

const LABELS = {
  ...NODE_SERVERS,
  'net-floor': NET_FLOOR_LABEL,
  'c-floor': C_FLOOR_LABEL,
} as const;
type ServerName = keyof typeof LABELS;

const USAGE = `usage: node bench/dist/server/run.js [options]

  --runs N               runs of every measurement; medians are reported (default 3)
  --servers a,b          among ${Object.keys(LABELS).join(', ')} (default: all)
  --subscribers N        subscribers for the throughput and latency phases (default 1000)
  --idle-connections N   connections for the memory phase (default 10000)
  --latency-rate N       events/s for the latency phase (default 100)
  --publish MODE         separate (default): each event in its own macrotask, as events
                         arriving from the network do; burst: all due events in one loop
  --profile DIR          write --cpu-prof profiles of every server and load process to DIR
  --quick                one run, shorter windows (a smoke test, not a result)
  --no-write             print only; leave bench/results alone`;

const values = parseOptions(USAGE, {
  runs: { type: 'string', default: '3' },
  servers: { type: 'string', default: Object.keys(LABELS).join(',') },
  subscribers: { type: 'string', default: '1000' },
  'idle-connections': { type: 'string', default: '10000' },
  'latency-rate': { type: 'string', default: '100' },
  publish: { type: 'string', default: 'separate' },
  profile: { type: 'string' },
  quick: { type: 'boolean', default: false },
  'no-write': { type: 'boolean', default: false },
});

const cProblem = cFloorProblem();
const servers = listOf(
  'servers',
  values.servers,
  Object.keys(LABELS) as ServerName[],
  USAGE,
).filter((name) => {
  if (name === 'c-floor' && cProblem !== undefined) {
    console.error(`skipping the C floor: ${cProblem}`);
    return false;
  }
  return true;
});
const mode = values.publish as PublishMode;
if (mode !== 'separate' && mode !== 'burst') {
  fail(`--publish must be separate or burst, got "${values.publish}"`);
}
const runs = values.quick ? 1 : positiveInteger('runs', values.runs);
const subscribers = positiveInteger('subscribers', values.subscribers);
const idleConnections = positiveInteger('idle-connections', values['idle-connections']);
const latencyRate = positiveInteger('latency-rate', values['latency-rate']);
const profileArgv =
  values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
setLoadExecArgv(profileArgv);

const ramp = {
  ...DEFAULT_RAMP,
  subscribers,
  ...(values.quick ? { windowMs: 1_500, warmupMs: 500, refine: 1 } : {}),
};
const latencyWindow = values.quick
  ? { warmupMs: 500, windowMs: 2_000 }
  : { warmupMs: 1_000, windowMs: 5_000 };

interface RunResult {
  throughput: RampResult;
  latency: LatencyResult;
  memory: MemoryResult;
}

function starter(name: ServerName): StartSystem {
  if (name === 'c-floor') return () => startCFloor('in-process');
  if (name === 'net-floor') {
    return () => startNetFloor('in-process', { mode, execArgv: profileArgv });
  }
  return () => startNodeServer(name as NodeServerName, { mode, execArgv: profileArgv });
}

const results = new Map<ServerName, RunResult[]>(servers.map((name) => [name, []]));
const machine = machineInfo();
const command = `node bench/dist/server/run.js ${process.argv.slice(2).join(' ')}`.trim();
const started = Date.now();

console.log(
  `bench:server: ${servers.map((s) => LABELS[s]).join(' vs ')}; ${runs} run(s), ` +
    `${subscribers} subscribers, ${idleConnections} idle connections, publish mode ${mode}`,
);
for (let run = 0; run < runs; run++) {
  // Rotating the order spreads slow drifts in the machine's load over all servers.
  const order = servers.map((_, i) => servers[(i + run) % servers.length]!);
  for (const name of order) {
    const start = starter(name);
    const throughput = await rampThroughput(start, ramp);
    const latency = await measureLatency(start, {
      subscribers,
      rate: latencyRate,
      ...latencyWindow,
      loadProcesses: 1,
    });
    const memory = await measureIdleMemory(start, {
      connections: idleConnections,
      loadProcesses: 1,
      settleMs: values.quick ? 500 : 1_500,
    });
    results.get(name)!.push({ throughput, latency, memory });
    console.log(
      `  run ${run + 1}/${runs} ${LABELS[name].padEnd(30)} ` +
        `${formatCount(throughput.best?.deliveriesPerSecond ?? Number.NaN).padStart(6)} deliveries/s ` +
        `(at ${throughput.best?.rate ?? '—'} events/s, client CPU ${((throughput.best?.loadCpu ?? 0) * 100).toFixed(0)}%)  ` +
        `p50 ${formatMs(latency.p50Ms)} p99 ${formatMs(latency.p99Ms)}  ` +
        `${formatBytes(memory.bytesPerConnection)}/connection`,
    );
  }
}

interface Summary extends LoadSummary {
  server: string;
}

const summaries = new Map<ServerName, Summary>();
for (const [name, list] of results) {
  summaries.set(name, { server: LABELS[name], ...summarizeLoad(list) });
}

const ours = summaries.get('tidings');
const ratio = (peer: ServerName) => {
  const theirs = summaries.get(peer);
  if (ours === undefined || theirs === undefined) return undefined;
  return {
    deliveries: ours.deliveriesPerSecond.median / theirs.deliveriesPerSecond.median,
    p99: theirs.p99Ms.median / ours.p99Ms.median,
    memory: theirs.bytesPerConnection.median / ours.bytesPerConnection.median,
  };
};
const ratios = {
  'better-sse': ratio('better-sse'),
  'node-http': ratio('node-http'),
};
const targets =
  ours === undefined
    ? []
    : [
        check(
          'deliveries/s ≥ 3× better-sse',
          ratios['better-sse']?.deliveries,
          (v) => v >= 3,
          formatRatio,
        ),
        check(
          'deliveries/s ≥ 2× hand-written loop',
          ratios['node-http']?.deliveries,
          (v) => v >= 2,
          formatRatio,
        ),
        check(
          `p99 ≤ 20 ms at ${latencyRate} events/s × ${subscribers}`,
          ours.p99Ms.median,
          (v) => v <= 20,
          formatMs,
        ),
        check(
          '≤ 4 KB per idle connection',
          ours.bytesPerConnection.median,
          (v) => v <= 4096,
          formatBytes,
        ),
        ...cFloorTargets(ours, summaries.get('c-floor'), `at ${latencyRate} events/s`),
      ];
const floors = (['c-floor', 'net-floor'] as const).flatMap((name) => {
  const summary = summaries.get(name);
  return summary === undefined ? [] : [{ label: LABELS[name], summary }];
});
const floorComparison = ours === undefined ? '' : floorTable('@tidings/server', ours, floors);

const table = markdownTable(
  [
    'server',
    `deliveries/s (${subscribers} subscribers)`,
    'at events/s',
    `p50 @ ${latencyRate}/s`,
    `p99 @ ${latencyRate}/s`,
    `RSS / idle connection (${idleConnections / 1000}k)`,
  ],
  [...summaries.values()].map((s) => [
    s.server,
    `${formatCount(s.deliveriesPerSecond.median)} (${formatPercent(s.deliveriesPerSecond.relativeRange)})`,
    formatCount(s.bestRate.median),
    formatMs(s.p50Ms.median),
    `${formatMs(s.p99Ms.median)} (${formatMs(s.p99Ms.min)}–${formatMs(s.p99Ms.max)})`,
    `${formatBytes(s.bytesPerConnection.median)} (${formatPercent(s.bytesPerConnection.relativeRange)})`,
  ]),
);
const peers = (['better-sse', 'node-http'] as const).filter((peer) => ratios[peer] !== undefined);
const ratioTable =
  peers.length === 0
    ? ''
    : markdownTable(
        [
          '@tidings/server vs',
          'deliveries/s',
          'p99 latency (lower is better)',
          'memory per connection',
        ],
        peers.map((peer) => [
          LABELS[peer],
          `${formatRatio(ratios[peer]!.deliveries)} as many`,
          `${formatRatio(ratios[peer]!.p99)} lower`,
          `${formatRatio(ratios[peer]!.memory)} less`,
        ]),
      );
const targetLines = targets.map((t) => `- ${t.met ? '✅' : '❌'} ${t.name}: ${t.value}`);
const clientBound = [...summaries.values()].filter((s) => s.loadCpuAtBest > 0.9);
const notes = [
  `Medians of ${runs} run(s); in brackets ± half the range between runs (max − min) / 2 relative to the median, or the p99 range.`,
  'Deliveries/s: the publish rate grows ×1.5 per step (then bisects) until, twice in a row, fewer than 95% of the expected deliveries arrive in a 2.5 s window, or p99 exceeds 250 ms, or the last deliveries arrive more than 250 ms after publishing stopped (a queue built up); the figure is the deliveries counted at the best accepted step.',
  `Publish mode "${mode}": ${mode === 'separate' ? 'each event is published from its own macrotask, as events arriving from the network are' : 'events due in one tick are published in one synchronous loop'}. Each event is stamped with the time it was due, so a publisher delayed by a busy server counts as latency.`,
  'Floors: the same bytes on the wire (an HTTP/1.1 chunked body, `id: urn:uuid:…` and `data:` per event) from a minimal C epoll server (bench/c/sse-floor.c, built with gcc -O2 at the start) and from a Node server on bare `net` sockets (bench/src/floor/net-floor.ts); both publish on their own 1 ms timer and write each event to each subscriber as it comes, with no coalescing.',
  ...(clientBound.length > 0
    ? [
        `The load client ran at over 90% of a core at the best step for ${clientBound.map((s) => s.server).join(', ')}: there the figure is a lower bound set by the client, not the server.`,
      ]
    : []),
];

const markdown = [
  '# bench:server',
  '',
  `\`${command}\` — ${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  '',
  `Machine: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, load average before the start ${machine.loadAverageAtStart.map((v) => v.toFixed(2)).join(' ')}. The machine is shared with other work (builds, test suites); the spread between runs shows how much that moved the figures.`,
  '',
  table,
  '',
  ratioTable,
  '',
  floorComparison,
  '',
  ...(targetLines.length > 0 ? ['Targets:', '', ...targetLines, ''] : []),
  ...notes.map((n) => `- ${n}`),
  '',
].join('\n');

console.log(`\n${markdown}`);

if (!values['no-write'] && !values.quick) {
  writeResults(
    'server',
    {
      benchmark: 'server',
      command,
      date: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine,
      options: { runs, subscribers, idleConnections, latencyRate, mode, ramp, latencyWindow },
      summary: Object.fromEntries(summaries),
      ratios,
      floorRatios:
        ours === undefined
          ? {}
          : Object.fromEntries(floors.map((f) => [f.label, floorRatios(ours, f.summary)])),
      targets,
      runs: Object.fromEntries(results),
    },
    markdown,
  );
}
