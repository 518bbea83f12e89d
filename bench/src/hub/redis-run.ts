import { writeResults } from '../load/cli.js';
import { DEFAULT_RAMP, type RampResult, rampThroughput } from '../load/phases.js';
import { formatCount, formatMs, formatRatio, machineInfo, markdownTable } from '../load/report.js';
import { type Spread, spread } from '../load/stats.js';
import { type NodesTransport, startHubNodes } from './hub-nodes.js';
import { measureNodesLatency, type NodesLatencyResult } from './node-latency.js';
import { loadAverage } from './process-cpu.js';
import type { CommandCounters } from './redis-counters.js';
import { type BrokerCosts, measureBrokerCosts } from './redis-feed.js';

/**
 * `npm run bench:hub:redis` (= `bench:hub -- --transport redis`): what the Redis transport
 * costs a delivery, against memory:// in the same run.
 *
 * - One node at `rate` updates/s × `subscribers`: p50/p99 on memory://, on redis:// with no
 *   persistence and with the append-only file synced every second; deliveries/s at full
 *   speed (the ramp of bench:hub) on memory:// and on redis://.
 * - Three nodes on one Redis, the subscribers spread evenly, the publisher posting to the
 *   first: what the other nodes' subscribers see against the first node's.
 * - The broker alone (no hub, no HTTP): the append's round trip, the feed's wake, Redis's
 *   µs per EVALSHA and the commands each update costs (INFO commandstats).
 * - CPU: of the hub processes per delivery and of redis-server, over the latency window.
 */

const ONE_NODE: NodesTransport[] = ['memory', 'none', 'aof-everysec'];
const RAMPED: NodesTransport[] = ['memory', 'none'];
const PERSISTENCE = ['none', 'aof-everysec'] as const;

interface RedisRun {
  loadAverage: [number, number, number];
  oneNode: Partial<Record<NodesTransport, NodesLatencyResult>>;
  throughput: Partial<Record<NodesTransport, RampResult>>;
  threeNodes: NodesLatencyResult;
  broker: Partial<Record<(typeof PERSISTENCE)[number], BrokerCosts>>;
}

export interface RedisRunOptions {
  runs: number;
  subscribers: number;
  rate: number;
  quick: boolean;
  write: boolean;
  command: string;
}

export async function runRedis(options: RedisRunOptions): Promise<void> {
  const { runs, subscribers, rate } = options;
  const window = options.quick
    ? { warmupMs: 500, windowMs: 2_000 }
    : { warmupMs: 1_000, windowMs: 5_000 };
  const ramp = {
    ...DEFAULT_RAMP,
    subscribers,
    startRate: 100,
    ...(options.quick ? { windowMs: 1_500, warmupMs: 500, refine: 1 } : {}),
  };
  const started = Date.now();
  const machine = machineInfo();
  console.log(
    `bench:hub --transport redis: ${runs} run(s), ${rate} updates/s × ${subscribers} subscribers`,
  );
  const results: RedisRun[] = [];
  for (let run = 0; run < runs; run++) {
    const load = loadAverage();
    const rotate = <T>(list: readonly T[]) => list.map((_, i) => list[(i + run) % list.length]!);
    const oneNode: RedisRun['oneNode'] = {};
    for (const transport of rotate(ONE_NODE)) {
      const hubs = await startHubNodes(1, transport);
      try {
        oneNode[transport] = await measureNodesLatency(hubs, { subscribers, rate, ...window });
      } finally {
        await hubs.stop();
      }
    }
    const throughput: RedisRun['throughput'] = {};
    for (const transport of rotate(RAMPED)) {
      throughput[transport] = await rampThroughput(async () => {
        const hubs = await startHubNodes(1, transport);
        return { ...hubs.nodes[0]!, stop: hubs.stop };
      }, ramp);
    }
    const hubs = await startHubNodes(3, 'none');
    let threeNodes: NodesLatencyResult;
    try {
      threeNodes = await measureNodesLatency(hubs, { subscribers, rate, ...window });
    } finally {
      await hubs.stop();
    }
    const broker: RedisRun['broker'] = {};
    for (const persistence of PERSISTENCE)
      broker[persistence] = await measureBrokerCosts(persistence, { rate, ...window });
    results.push({ loadAverage: load, oneNode, throughput, threeNodes, broker });
    console.log(
      `  run ${run + 1}/${runs} (load ${load.join(' ')}): ` +
        ONE_NODE.map(
          (t) =>
            `${t} p50 ${formatMs(oneNode[t]!.all.p50Ms)} p99 ${formatMs(oneNode[t]!.all.p99Ms)}`,
        ).join(', ') +
        `; deliveries/s ${RAMPED.map((t) => `${t} ${formatCount(throughput[t]!.best?.deliveriesPerSecond ?? Number.NaN)}`).join(', ')}` +
        `; 3 nodes same p50 ${formatMs(threeNodes.perNode[0]!.p50Ms)} cross p50 ${formatMs(threeNodes.crossNode!.p50Ms)}`,
    );
  }

  const summary = summarize(results);
  const markdown = report(summary, results, {
    ...options,
    started,
    machine,
    window,
  });
  console.log(`\n${markdown}`);
  if (options.write && !options.quick) {
    writeResults(
      'hub-redis',
      {
        benchmark: 'hub --transport redis',
        command: options.command,
        date: new Date(started).toISOString(),
        durationSeconds: (Date.now() - started) / 1000,
        machine,
        options: { runs, subscribers, rate, window, ramp },
        summary,
        runs: results,
      },
      markdown,
    );
  }
}

const LABELS: Record<NodesTransport, string> = {
  memory: 'memory://',
  none: 'redis:// (appendonly no)',
  'aof-everysec': 'redis:// (appendfsync everysec)',
};

/** Calls of `command` per update appended (EVALSHA calls) over a window. */
function perUpdate(commands: CommandCounters | undefined, command: string): number {
  if (commands === undefined) return Number.NaN;
  const updates = (commands.evalsha?.calls ?? 0) + (commands.eval?.calls ?? 0);
  return (commands[command]?.calls ?? 0) / updates;
}

function usecPerCall(commands: CommandCounters | undefined, command: string): number {
  const counter = commands?.[command];
  return counter === undefined ? Number.NaN : counter.usec / counter.calls;
}

function summarize(results: RedisRun[]) {
  const over = (pick: (run: RedisRun) => number | undefined): Spread =>
    spread(results.map((run) => pick(run) ?? Number.NaN));
  const oneNode = byKey(ONE_NODE, (t) => ({
    p50Ms: over((r) => r.oneNode[t]?.all.p50Ms),
    p99Ms: over((r) => r.oneNode[t]?.all.p99Ms),
    deliveredRatio: over((r) => r.oneNode[t]?.deliveredRatio),
    hubCpuPerDeliveryUs: over((r) => r.oneNode[t]?.hubCpuPerDeliveryUs),
    hubCores: over((r) => r.oneNode[t]?.hubCores),
    redisCores: over((r) => r.oneNode[t]?.redisCores),
    hmgetPerUpdate: over((r) => perUpdate(r.oneNode[t]?.redisCommands, 'hmget')),
    xreadPerUpdate: over((r) => perUpdate(r.oneNode[t]?.redisCommands, 'xread')),
    deliveriesPerSecond: over((r) => r.throughput[t]?.best?.deliveriesPerSecond),
  }));
  const threeNodes = {
    sameP50Ms: over((r) => r.threeNodes.perNode[0]!.p50Ms),
    sameP99Ms: over((r) => r.threeNodes.perNode[0]!.p99Ms),
    crossP50Ms: over((r) => r.threeNodes.crossNode!.p50Ms),
    crossP99Ms: over((r) => r.threeNodes.crossNode!.p99Ms),
    crossMinusSameP50Ms: over(
      (r) => r.threeNodes.crossNode!.p50Ms - r.threeNodes.perNode[0]!.p50Ms,
    ),
    deliveredRatio: over((r) => r.threeNodes.deliveredRatio),
    hubCpuPerDeliveryUs: over((r) => r.threeNodes.hubCpuPerDeliveryUs),
    redisCores: over((r) => r.threeNodes.redisCores),
  };
  const broker = byKey(PERSISTENCE, (p) => ({
    appendP50Ms: over((r) => r.broker[p]?.appendP50Ms),
    appendP99Ms: over((r) => r.broker[p]?.appendP99Ms),
    feedP50Ms: over((r) => r.broker[p]?.feedP50Ms),
    feedP99Ms: over((r) => r.broker[p]?.feedP99Ms),
    wakeP50Ms: over((r) => r.broker[p]?.wakeP50Ms),
    wakeP99Ms: over((r) => r.broker[p]?.wakeP99Ms),
    pingP50Ms: over((r) => r.broker[p]?.pingP50Ms),
    pingP99Ms: over((r) => r.broker[p]?.pingP99Ms),
    evalshaUs: over((r) => usecPerCall(r.broker[p]?.redisCommands, 'evalsha')),
    xreadUs: over((r) => usecPerCall(r.broker[p]?.redisCommands, 'xread')),
    hmgetPerUpdate: over((r) => perUpdate(r.broker[p]?.redisCommands, 'hmget')),
    xreadPerUpdate: over((r) => perUpdate(r.broker[p]?.redisCommands, 'xread')),
  }));
  return { oneNode, threeNodes, broker };
}

function byKey<K extends string, V>(keys: readonly K[], value: (key: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((key) => [key, value(key)])) as Record<K, V>;
}

/** "median (worst)": worst is the highest for times, the lowest for rates. */
function ms(s: Spread): string {
  return `${formatMs(s.median)} (${formatMs(s.max)})`;
}
function count(s: Spread, digits = 2): string {
  return Number.isFinite(s.median) ? s.median.toFixed(digits) : '—';
}
function signed(value: number): string {
  return `${value < 0 ? '−' : '+'}${formatMs(Math.abs(value))}`;
}

function report(
  summary: ReturnType<typeof summarize>,
  results: RedisRun[],
  context: RedisRunOptions & {
    started: number;
    machine: ReturnType<typeof machineInfo>;
    window: { warmupMs: number; windowMs: number };
  },
): string {
  const { oneNode, threeNodes, broker } = summary;
  const memory = oneNode.memory;
  const oneTable = markdownTable(
    [
      'one node',
      'deliveries/s at full speed (worst)',
      `p50 @ ${context.rate}/s (worst)`,
      `p99 @ ${context.rate}/s (worst)`,
      'p99 / memory',
      'hub CPU / delivery',
      'hub, redis-server CPU',
      'HMGET, XREAD / update',
    ],
    ONE_NODE.map((t) => {
      const s = oneNode[t];
      return [
        LABELS[t],
        Number.isFinite(s.deliveriesPerSecond.median)
          ? `${formatCount(s.deliveriesPerSecond.median)} (${formatCount(s.deliveriesPerSecond.min)})`
          : '—',
        ms(s.p50Ms),
        ms(s.p99Ms),
        formatRatio(s.p99Ms.median / memory.p99Ms.median),
        `${s.hubCpuPerDeliveryUs.median.toFixed(2)} µs`,
        `${(s.hubCores.median * 100).toFixed(0)}%, ${Number.isFinite(s.redisCores.median) ? `${(s.redisCores.median * 100).toFixed(0)}%` : '—'}`,
        t === 'memory' ? '—' : `${count(s.hmgetPerUpdate)}, ${count(s.xreadPerUpdate)}`,
      ];
    }),
  );
  const nodesTable = markdownTable(
    ['three nodes, one Redis', 'p50 (worst)', 'p99 (worst)'],
    [
      [
        'same node (the publisher posts to node 1)',
        ms(threeNodes.sameP50Ms),
        ms(threeNodes.sameP99Ms),
      ],
      ['cross-node (nodes 2 and 3)', ms(threeNodes.crossP50Ms), ms(threeNodes.crossP99Ms)],
      ['cross-node − same node', signed(threeNodes.crossMinusSameP50Ms.median), ''],
      [
        'one node on redis:// (appendonly no), same run',
        ms(oneNode.none.p50Ms),
        ms(oneNode.none.p99Ms),
      ],
    ],
  );
  const brokerTable = markdownTable(
    [
      'the broker alone',
      'append ack p50 / p99',
      'publish → other node’s feed p50 / p99',
      'feed wake after the ack p50 / p99',
      'PING round trip p50 / p99',
      'EVALSHA in Redis',
      'XREAD in Redis',
      'HMGET, XREAD / update',
    ],
    PERSISTENCE.map((p) => {
      const s = broker[p];
      return [
        LABELS[p],
        `${formatMs(s.appendP50Ms.median)} / ${formatMs(s.appendP99Ms.median)}`,
        `${formatMs(s.feedP50Ms.median)} / ${formatMs(s.feedP99Ms.median)}`,
        `${formatMs(s.wakeP50Ms.median)} / ${formatMs(s.wakeP99Ms.median)}`,
        `${formatMs(s.pingP50Ms.median)} / ${formatMs(s.pingP99Ms.median)}`,
        `${s.evalshaUs.median.toFixed(1)} µs`,
        `${s.xreadUs.median.toFixed(1)} µs`,
        `${count(s.hmgetPerUpdate)}, ${count(s.xreadPerUpdate)}`,
      ];
    }),
  );
  const p99Ratio = oneNode.none.p99Ms.median / memory.p99Ms.median;
  // Past the ramp's own bound (p99 250 ms, 95% delivered) the latencies measure a machine
  // that cannot run the load, not the transport: the targets are not judged then.
  const overloaded = results.some((run) =>
    [...Object.values(run.oneNode), run.threeNodes].some(
      (result) => result.all.p99Ms > 250 || result.deliveredRatio < 0.95,
    ),
  );
  const judged = [
    `- ${p99Ratio <= 1.3 ? '✅' : '❌'} p99 on redis:// within 1.3× of memory:// at ${context.rate}/s × ${context.subscribers}: ${formatMs(oneNode.none.p99Ms.median)} vs ${formatMs(memory.p99Ms.median)} (${formatRatio(p99Ratio)}; worst runs ${formatMs(oneNode.none.p99Ms.max)} vs ${formatMs(memory.p99Ms.max)})`,
    `- ${threeNodes.crossMinusSameP50Ms.median < 10 ? '✅' : '❌'} three nodes on one Redis: cross-node p50 adds under 10 ms: ${signed(threeNodes.crossMinusSameP50Ms.median)} (worst run ${signed(threeNodes.crossMinusSameP50Ms.max)})`,
  ];
  const targets = overloaded
    ? [
        '- not judged: in at least one run a latency window had p99 over 250 ms or fewer than 95% of the deliveries (the bounds of the ramp), so the machine could not run the load; the latencies above measure its scheduler. The broker-alone figures and the command counts still hold.',
      ]
    : judged;
  return [
    '# bench:hub --transport redis',
    '',
    `\`${context.command}\` — ${new Date(context.started).toISOString()}, ${((Date.now() - context.started) / 1000).toFixed(0)} s`,
    '',
    `Machine: ${context.machine.cpus} × ${context.machine.cpuModel}, Node ${context.machine.node}; load average (1/5/15 min) at the start of each run: ${results.map((r) => r.loadAverage.join(' ')).join('; ')}. The machine is shared with other work: read the worst runs.`,
    '',
    `Medians of ${results.length} run(s), the worst run in brackets. Latency: ${context.rate} updates/s to ${context.subscribers} subscribers, publish request to receipt, ${context.window.windowMs / 1000} s window after ${context.window.warmupMs / 1000} s warm-up.`,
    '',
    oneTable,
    '',
    nodesTable,
    '',
    brokerTable,
    '',
    'Targets:',
    '',
    ...targets,
    '',
    '- Deliveries/s: the ramp of bench:hub (from 100 updates/s, ×1.5 per step then bisection, until fewer than 95% arrive, p99 > 250 ms or the drain exceeds 250 ms).',
    '- CPU: /proc/<pid>/stat of every hub process and of redis-server over the latency window; per delivery is hub CPU time / deliveries received. "HMGET, XREAD / update" are Redis INFO commandstats calls per EVALSHA (the append) in the window.',
    '- The broker alone: two RedisBroker instances on the bench process, one appending, the other feeding, at the same rate, with no hub, HTTP or subscribers, and a PING on a third connection at the same rate (a hop to redis-server and back with no work: the scheduling cost alone); EVALSHA/XREAD µs are Redis’s own time per call (not the round trip).',
    '',
  ].join('\n');
}
