/**
 * `npm run bench:hub-idle-breakdown`: where the hub's memory per idle connection goes. The
 * memory phase of bench:hub (10 000 idle subscribers, RSS after a full GC minus before), with
 * the RSS split by kind: the V8 heap in use (JS objects: node:http's request, response and
 * parser, the socket, ours), the free part of the young generation V8 keeps (it grows while
 * connections arrive, and Node 24's V8 lets it grow further than Node 20's), and the rest:
 * native memory (libuv, llhttp, the allocator) and free pages of the other heap spaces.
 * Run it on each Node version (`npx --yes node@24 bench/dist/hub/idle-breakdown.js`).
 * IDLE_CONNECTIONS (default 10000) and RUNS (default 3); extra Node flags for the hub in
 * HUB_NODE_FLAGS (space-separated).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureIdleMemory } from '../load/phases.js';
import { formatBytes } from '../load/report.js';
import { startHub } from './hub-process.js';

interface HeapReport {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  spaces: Record<string, { held: number; used: number }>;
}

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const connections = positiveInteger('IDLE_CONNECTIONS', 10_000);
const runs = positiveInteger('RUNS', 3);
const extraFlags = (process.env.HUB_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
const hook = new URL('./heap-report-on-signal.js', import.meta.url).href;
const directory = mkdtempSync(join(tmpdir(), 'tidings-heap-'));

const ROWS = [
  'RSS',
  'V8 heap in use',
  'young generation held, free',
  'the rest (native: libuv, llhttp, allocator)',
] as const;
type Row = (typeof ROWS)[number];

function split(report: HeapReport): Record<Row, number> {
  const young = report.spaces.new_space ?? { held: 0, used: 0 };
  const youngFree = young.held - young.used;
  return {
    RSS: report.rss,
    'V8 heap in use': report.heapUsed,
    'young generation held, free': youngFree,
    'the rest (native: libuv, llhttp, allocator)': report.rss - report.heapUsed - youngFree,
  };
}

const samples: Record<Row, number>[] = [];
try {
  for (let run = 1; run <= runs; run++) {
    const prefix = join(directory, `run-${run}`);
    process.env.TIDINGS_HEAP_REPORT = prefix;
    const result = await measureIdleMemory(
      () => startHub([], [...extraFlags, `--import=${hook}`]),
      {
        connections,
        loadProcesses: Math.max(1, Math.ceil(connections / 8000)),
        settleMs: 1_500,
      },
    );
    // The hub reports at each RSS reading: 1 with no connection open, 2 with all of them.
    const before = split(JSON.parse(readFileSync(`${prefix}.1`, 'utf8')) as HeapReport);
    const after = split(JSON.parse(readFileSync(`${prefix}.2`, 'utf8')) as HeapReport);
    const sample = {} as Record<Row, number>;
    for (const row of ROWS) sample[row] = (after[row] - before[row]) / result.opened;
    samples.push(sample);
    console.log(
      `run ${run}/${runs}: ${formatBytes(sample.RSS)}/connection (${result.opened} open)`,
    );
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const flags = extraFlags.length === 0 ? '' : `, hub flags ${extraFlags.join(' ')}`;
console.log(
  `\nIdle hub connection on Node ${process.version}${flags}, ${connections} connections, median of ${runs} (highest):`,
);
console.log('| part | per connection |\n| --- | ---: |');
for (const row of ROWS) {
  const values = samples.map((sample) => sample[row]);
  console.log(`| ${row} | ${formatBytes(median(values))} (${formatBytes(Math.max(...values))}) |`);
}
