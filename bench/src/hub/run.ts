/**
 * `npm run bench:hub`: the Tidings hub (`tidings serve`, memory transport) against nchan
 * (or, with `--transport redis`, against itself on redis://)
 * (the nginx module, one worker) in the same run, each fed by a publisher process over HTTP
 * and read by separate load processes; under them, two floors fed the same way that put the
 * same bytes on the wire with nothing else: a minimal C epoll server and a Node server on
 * bare `net` sockets (see floor/floor-process.ts).
 *
 * Per system and run: deliveries per second at the highest publish rate it keeps up with
 * (1000 subscribers), publish-to-receive latency at 100 updates/s to 1000 subscribers, RSS
 * per idle connection with 10 000 connections, and ~18 000 connections (90% of `ulimit -n`)
 * held at once while one broadcast reaches every one of them. Medians, spreads and ratios
 * go to bench/results/hub.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { setLoadExecArgv } from '@tidings/hub/load';
import {
  C_FLOOR_LABEL,
  cFloorProblem,
  NET_FLOOR_LABEL,
  startCFloor,
  startNetFloor,
} from '../floor/floor-process.js';
import { check, listOf, parseOptions, positiveInteger, writeResults } from '../load/cli.js';
import { cFloorTargets, floorRatios, floorTable } from '../load/floor-comparison.js';
import {
  type BroadcastResult,
  DEFAULT_RAMP,
  holdAndBroadcast,
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
import { type Spread, spread } from '../load/stats.js';
import { type LoadSummary, summarizeLoad } from '../load/summary.js';
import type { StartSystem } from '../load/system-under-test.js';
import { startHub } from './hub-process.js';
import { findNginx, nchanAvailable, startNchan } from './nchan-process.js';
import { startRedisHub } from './redis-process.js';
import { runRedis } from './redis-run.js';
import { runScale } from './scale.js';

const USAGE = `usage: node bench/dist/hub/run.js [options]

  --runs N               runs of every measurement; medians are reported (default 3)
  --systems a,b          among hub, nchan, c-floor, net-floor, hub-redis
                         (default: hub,nchan,c-floor,net-floor)
  --transport redis      the Redis transport against memory:// in one run (its own
                         redis-server): one node at --latency-rate × --subscribers and at full
                         speed, three nodes on one Redis (cross-node latency), the broker
                         alone (append, feed wake, Redis µs per command), CPU per delivery
                         (see redis-run.ts; results in bench/results/hub-redis.*)
  --subscribers N        subscribers for the throughput and latency phases (default 1000)
  --idle-connections N   connections for the memory phase (default 10000)
  --hold N               connections held for the broadcast phase (default: 90% of ulimit -n)
  --latency-rate N       updates/s for the latency phase (default 100)
  --phases list          among ramp, latency, memory, hold (default: all), and scale (asked
                         for by name: see --scale-connections)
  --scale-connections N  scale: connections held by the hub with --workers (default 100000),
                         against 90% of ulimit -n on one process (memory:// and redis://)
  --workers N            scale: hub processes for them (default 7)
  --profile DIR          run the hub and the load processes with --cpu-prof into DIR
  --hub-node-flags="F"   extra Node flags for the hub process only, space-separated (e.g.
                         "--max-semi-space-size=16": how much a smaller young generation saves)
  --quick                one run, shorter windows (a smoke test, not a result)
  --no-write             print only; leave bench/results alone`;

const values = parseOptions(USAGE, {
  runs: { type: 'string', default: '3' },
  systems: { type: 'string' },
  transport: { type: 'string' },
  subscribers: { type: 'string', default: '1000' },
  'idle-connections': { type: 'string', default: '10000' },
  hold: { type: 'string' },
  'latency-rate': { type: 'string', default: '100' },
  phases: { type: 'string', default: 'ramp,latency,memory,hold' },
  'scale-connections': { type: 'string', default: '100000' },
  workers: { type: 'string', default: '7' },
  profile: { type: 'string' },
  'hub-node-flags': { type: 'string', default: '' },
  quick: { type: 'boolean', default: false },
  'no-write': { type: 'boolean', default: false },
});

const openFilesLimit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
const runs = values.quick ? 1 : positiveInteger('runs', values.runs);
const subscribers = positiveInteger('subscribers', values.subscribers);
const idleConnections = positiveInteger('idle-connections', values['idle-connections']);
const latencyRate = positiveInteger('latency-rate', values['latency-rate']);
// The server under test needs one descriptor per connection plus a few of its own.
const hold =
  values.hold === undefined
    ? Math.floor(openFilesLimit * 0.9)
    : positiveInteger('hold', values.hold);
// A load process holds at most this many, well inside its own limit.
const holdProcesses = Math.max(1, Math.ceil(hold / 8000));
// A misspelt phase would otherwise be skipped without a word.
const phases = new Set(
  listOf('phases', values.phases, ['ramp', 'latency', 'memory', 'hold', 'scale'] as const, USAGE),
);
const profileArgv =
  values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
setLoadExecArgv(profileArgv);
// Only the hub gets these: the load processes keep Node's defaults.
const hubArgv = [
  ...profileArgv,
  ...values['hub-node-flags'].split(' ').filter((flag) => flag !== ''),
];
if (phases.has('scale')) {
  await runScale({
    connections: positiveInteger('scale-connections', values['scale-connections']),
    workers: positiveInteger('workers', values.workers),
    runs,
    openFilesLimit,
    profileArgv,
    quick: values.quick,
    write: !values['no-write'],
    command: `node bench/dist/hub/run.js ${process.argv.slice(2).join(' ')}`.trim(),
  });
  phases.delete('scale');
  if (phases.size === 0) process.exit(0);
}

if (values.transport !== undefined) {
  if (values.transport !== 'redis') {
    console.error(`--transport must be redis, got "${values.transport}"\n\n${USAGE}`);
    process.exit(2);
  }
  await runRedis({
    runs,
    subscribers,
    rate: latencyRate,
    quick: values.quick,
    write: !values['no-write'],
    command: `node bench/dist/hub/run.js ${process.argv.slice(2).join(' ')}`.trim(),
  });
  process.exit(0);
}

const nginx = findNginx();
const nchanProblem = nchanAvailable(nginx);
const cProblem = cFloorProblem();
const SYSTEMS: Record<string, { label: string; start: StartSystem } | undefined> = {
  hub: { label: '@tidings/hub', start: () => startHub([], hubArgv) },
  'hub-redis': { label: '@tidings/hub (redis://)', start: () => startRedisHub(hubArgv) },
  nchan:
    nchanProblem === undefined
      ? { label: 'nchan (nginx, 1 worker)', start: () => startNchan(nginx!) }
      : undefined,
  'c-floor':
    cProblem === undefined ? { label: C_FLOOR_LABEL, start: () => startCFloor('http') } : undefined,
  'net-floor': {
    label: NET_FLOOR_LABEL,
    start: () => startNetFloor('http', { execArgv: profileArgv }),
  },
};
const systemList = values.systems ?? 'hub,nchan,c-floor,net-floor';
const systems = listOf(
  'systems',
  systemList,
  ['hub', 'nchan', 'c-floor', 'net-floor', 'hub-redis'],
  USAGE,
).filter((name) => {
  if (SYSTEMS[name] === undefined) {
    console.error(`skipping ${name}: ${name === 'nchan' ? nchanProblem : cProblem}`);
    return false;
  }
  return true;
});

const ramp = {
  ...DEFAULT_RAMP,
  subscribers,
  ...(values.quick ? { windowMs: 1_500, warmupMs: 500, refine: 1 } : {}),
};
const latencyWindow = values.quick
  ? { warmupMs: 500, windowMs: 2_000 }
  : { warmupMs: 1_000, windowMs: 5_000 };

interface RunResult {
  throughput?: RampResult;
  latency?: LatencyResult;
  memory?: MemoryResult;
  broadcast?: BroadcastResult;
}

const results = new Map<string, RunResult[]>(systems.map((name) => [name, []]));
const machine = { ...machineInfo(), openFilesLimit };
const command = `node bench/dist/hub/run.js ${process.argv.slice(2).join(' ')}`.trim();
const started = Date.now();

console.log(
  `bench:hub: ${systems.map((s) => SYSTEMS[s]!.label).join(' vs ')}; ${runs} run(s), ` +
    `${subscribers} subscribers, ${idleConnections} idle connections, ${hold} held ` +
    `(ulimit -n ${openFilesLimit}, ${holdProcesses} load processes)`,
);
for (let run = 0; run < runs; run++) {
  const order = systems.map((_, i) => systems[(i + run) % systems.length]!);
  for (const name of order) {
    const { label, start } = SYSTEMS[name]!;
    const result: RunResult = {};
    if (phases.has('ramp')) result.throughput = await rampThroughput(start, ramp);
    if (phases.has('latency')) {
      result.latency = await measureLatency(start, {
        subscribers,
        rate: latencyRate,
        ...latencyWindow,
        loadProcesses: 1,
      });
    }
    if (phases.has('memory')) {
      result.memory = await measureIdleMemory(start, {
        connections: idleConnections,
        loadProcesses: Math.max(1, Math.ceil(idleConnections / 8000)),
        settleMs: values.quick ? 500 : 1_500,
      });
    }
    if (phases.has('hold')) {
      result.broadcast = await holdAndBroadcast(start, {
        connections: hold,
        loadProcesses: holdProcesses,
        timeoutMs: 60_000,
      });
    }
    results.get(name)!.push(result);
    const best = result.throughput?.best;
    console.log(
      `  run ${run + 1}/${runs} ${label.padEnd(24)} ` +
        `${formatCount(best?.deliveriesPerSecond ?? Number.NaN).padStart(6)} deliveries/s (at ${best?.rate ?? '—'}/s)  ` +
        `p50 ${formatMs(result.latency?.p50Ms ?? Number.NaN)} p99 ${formatMs(result.latency?.p99Ms ?? Number.NaN)}  ` +
        `${formatBytes(result.memory?.bytesPerConnection ?? Number.NaN)}/connection  ` +
        (result.broadcast
          ? `${result.broadcast.reached}/${result.broadcast.opened} of ${hold} reached in ${formatMs(result.broadcast.elapsedMs)}`
          : ''),
    );
  }
}

interface Summary extends LoadSummary {
  system: string;
  held: Spread;
  reached: Spread;
  broadcastMs: Spread;
}

const summaries = new Map<string, Summary>();
for (const [name, list] of results) {
  summaries.set(name, {
    system: SYSTEMS[name]!.label,
    ...summarizeLoad(list),
    held: spread(list.map((r) => r.broadcast?.opened ?? Number.NaN)),
    reached: spread(list.map((r) => r.broadcast?.reached ?? Number.NaN)),
    broadcastMs: spread(list.map((r) => r.broadcast?.elapsedMs ?? Number.NaN)),
  });
}

const hub = summaries.get('hub');
const nchan = summaries.get('nchan');
const ratios =
  hub && nchan
    ? {
        deliveries: hub.deliveriesPerSecond.median / nchan.deliveriesPerSecond.median,
        p99: nchan.p99Ms.median / hub.p99Ms.median,
        memory: nchan.bytesPerConnection.median / hub.bytesPerConnection.median,
        broadcast: nchan.broadcastMs.median / hub.broadcastMs.median,
      }
    : undefined;
const targets =
  hub === undefined
    ? []
    : [
        check('deliveries/s ≥ 2× nchan', ratios?.deliveries, (v) => v >= 2, formatRatio),
        check(
          `p99 at ${latencyRate}/s × ${subscribers} no worse than nchan's`,
          nchan === undefined ? undefined : hub.p99Ms.median - nchan.p99Ms.median,
          (v) => v <= 0,
          (v) => `${formatMs(hub.p99Ms.median)} vs ${formatMs(hub.p99Ms.median - v)}`,
        ),
        check(
          '≤ 6 KB per idle connection',
          hub.bytesPerConnection.median,
          (v) => v <= 6144,
          formatBytes,
        ),
        check(
          '≤ 4 KB per idle connection',
          hub.bytesPerConnection.median,
          (v) => v <= 4096,
          formatBytes,
        ),
        check(
          `every one of ${hold} held connections reached by the broadcast`,
          Number.isFinite(hub.reached.min) ? hub.reached.min : undefined,
          (v) => v === hold,
          (v) => `${formatCount(v)} of ${formatCount(hold)} (worst run)`,
        ),
        ...cFloorTargets(hub, summaries.get('c-floor'), `at ${latencyRate}/s × ${subscribers}`),
      ];
const floors = ['c-floor', 'net-floor'].flatMap((name) => {
  const summary = summaries.get(name);
  return summary === undefined ? [] : [{ label: SYSTEMS[name]!.label, summary }];
});
const floorComparison = hub === undefined ? '' : floorTable('@tidings/hub', hub, floors);

const table = markdownTable(
  [
    'system',
    `deliveries/s (${subscribers} subscribers)`,
    'at updates/s',
    `p50 @ ${latencyRate}/s`,
    `p99 @ ${latencyRate}/s`,
    `RSS / idle connection (${idleConnections / 1000}k)`,
    `broadcast to ${formatCount(hold)} held`,
  ],
  [...summaries.values()].map((s) => [
    s.system,
    `${formatCount(s.deliveriesPerSecond.median)} (${formatPercent(s.deliveriesPerSecond.relativeRange)})`,
    formatCount(s.bestRate.median),
    formatMs(s.p50Ms.median),
    `${formatMs(s.p99Ms.median)} (${formatMs(s.p99Ms.min)}–${formatMs(s.p99Ms.max)})`,
    `${formatBytes(s.bytesPerConnection.median)} (${formatPercent(s.bytesPerConnection.relativeRange)})`,
    Number.isFinite(s.broadcastMs.median)
      ? `${formatCount(s.reached.min)}/${formatCount(s.held.min)} reached, ${formatMs(s.broadcastMs.median)}`
      : '—',
  ]),
);
const ratioTable =
  ratios === undefined
    ? ''
    : markdownTable(
        [
          '@tidings/hub vs nchan',
          'deliveries/s',
          'p99 latency',
          'memory per connection',
          'broadcast to all held',
        ],
        [
          [
            'ratio',
            `${formatRatio(ratios.deliveries)} as many`,
            `${formatRatio(ratios.p99)} lower`,
            `${formatRatio(ratios.memory)} less`,
            `${formatRatio(ratios.broadcast)} faster`,
          ],
        ],
      );
const onRedis = summaries.get('hub-redis');
if (hub && onRedis) {
  targets.push(
    check(
      `p99 on redis:// within 1.3× of memory:// at ${latencyRate}/s × ${subscribers}`,
      onRedis.p99Ms.median / hub.p99Ms.median,
      (v) => v <= 1.3,
      (v) =>
        `${formatMs(onRedis.p99Ms.median)} vs ${formatMs(hub.p99Ms.median)} (${formatRatio(v)}; worst runs ${formatMs(onRedis.p99Ms.max)} vs ${formatMs(hub.p99Ms.max)})`,
    ),
  );
}
const signedMs = (ms: number) => `${ms < 0 ? '−' : '+'}${formatMs(Math.abs(ms))}`;
const redisTable =
  hub && onRedis
    ? markdownTable(
        ['@tidings/hub redis:// vs memory://', 'deliveries/s', 'p50 latency', 'p99 latency'],
        [
          [
            'ratio',
            `${formatRatio(onRedis.deliveriesPerSecond.median / hub.deliveriesPerSecond.median)} as many`,
            `${formatRatio(onRedis.p50Ms.median / hub.p50Ms.median)} (${signedMs(onRedis.p50Ms.median - hub.p50Ms.median)})`,
            `${formatRatio(onRedis.p99Ms.median / hub.p99Ms.median)} (${signedMs(onRedis.p99Ms.median - hub.p99Ms.median)})`,
          ],
        ],
      )
    : '';
const targetLines = targets.map((t) => `- ${t.met ? '✅' : '❌'} ${t.name}: ${t.value}`);
const clientBound = [...summaries.values()].filter((s) => s.loadCpuAtBest > 0.9);
const notes = [
  `Medians of ${runs} run(s); in brackets ± half the range between runs relative to the median, or the p99 range.`,
  "Publishing: a separate process POSTs each update over keep-alive HTTP (form `topic`+`data` to the hub, the raw body to nchan's publisher location), stamped with the time it was due; latency includes the publish request.",
  'Deliveries/s: the publish rate grows ×1.5 per step (then bisects) until, twice in a row, fewer than 95% of the expected deliveries arrive in a 2.5 s window, p99 exceeds 250 ms, the last deliveries arrive more than 250 ms after publishing stopped, or a publish fails.',
  `Broadcast: ${hold} connections (90% of ulimit -n ${openFilesLimit}) from ${holdProcesses} load processes over 127.0.0.x source addresses; the time is from sending the publish request to the last connection receiving the event.`,
  'Memory: RSS of the hub process (after a full GC) and of the nginx worker, with the connections open minus before.',
  'Floors: the same bytes on the wire (an HTTP/1.1 chunked body, `id: urn:uuid:…` and `data:` per event) from a minimal C epoll server (bench/c/sse-floor.c, built with gcc -O2 at the start) and from a Node server on bare `net` sockets (bench/src/floor/net-floor.ts), each publishing the raw body the publisher process POSTs (as nchan does) and writing it to each subscriber at once, with no coalescing.',
  ...(clientBound.length > 0
    ? [
        `The load client ran at over 90% of a core at the best step for ${clientBound.map((s) => s.system).join(', ')}: there the figure is a lower bound set by the client.`,
      ]
    : []),
];

const markdown = [
  '# bench:hub',
  '',
  `\`${command}\` — ${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  '',
  `Machine: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ulimit -n ${openFilesLimit}, load average before the start ${machine.loadAverageAtStart.map((v) => v.toFixed(2)).join(' ')}. The machine is shared with other work (builds, test suites); the spread between runs shows how much that moved the figures.`,
  '',
  table,
  '',
  ratioTable,
  '',
  floorComparison,
  redisTable,
  '',
  ...(targetLines.length > 0 ? ['Targets:', '', ...targetLines, ''] : []),
  ...notes.map((n) => `- ${n}`),
  '',
].join('\n');

console.log(`\n${markdown}`);

if (!values['no-write'] && !values.quick) {
  // A run with the Redis transport has results of its own: it replaces neither hub vs nchan
  // nor the --transport redis run (hub-redis).
  writeResults(
    systems.includes('hub-redis') ? 'hub-redis-systems' : 'hub',
    {
      benchmark: 'hub',
      command,
      date: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine,
      options: {
        runs,
        subscribers,
        idleConnections,
        hold,
        latencyRate,
        ramp,
        latencyWindow,
        phases: [...phases],
      },
      summary: Object.fromEntries(summaries),
      ratios,
      floorRatios:
        hub === undefined
          ? {}
          : Object.fromEntries(floors.map((f) => [f.label, floorRatios(hub, f.summary)])),
      targets,
      runs: Object.fromEntries(results),
    },
    markdown,
  );
}
