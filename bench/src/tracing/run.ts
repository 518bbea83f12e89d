/**
 * `npm run bench:tracing`: what the hub's OpenTelemetry spans cost per publish.
 *
 * - with no provider registered (the default: `@opentelemetry/api` no-ops): the API calls
 *   the hub makes for one publish, against the same loop without them;
 * - `Hub.publish` in process and publish requests over HTTP/1.1, without and with the SDK
 *   (BatchSpanProcessor, an exporter that drops every batch).
 *
 * Each measurement runs in a fresh process (a registered provider is global), the variants
 * interleaved run by run; medians and the worst run are reported.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseOptions, positiveInteger, writeResults } from '../load/cli.js';
import { formatRatio, machineInfo, markdownTable } from '../load/report.js';

const USAGE = `usage: node bench/dist/tracing/run.js [options]

  --runs N        runs of every measurement; medians and the worst run are reported (default 5)
  --no-write      print only; leave bench/results alone`;

const values = parseOptions(USAGE, {
  runs: { type: 'string', default: '5' },
  'no-write': { type: 'boolean', default: false },
});
const runs = positiveInteger('runs', values.runs);
const MEASURE = fileURLToPath(new URL('./measure.js', import.meta.url));

/** What is measured, and how many publishes make one run of it. */
const VARIANTS = [
  ['empty', 2_000_000],
  ['api-noop', 2_000_000],
  ['hub', 20_000],
  ['hub-sdk', 20_000],
  ['http', 2_000],
  ['http-sdk', 2_000],
] as const;
type Variant = (typeof VARIANTS)[number][0];

const machine = machineInfo();
const samples = new Map<Variant, number[]>(VARIANTS.map(([name]) => [name, []]));
for (let run = 0; run < runs; run++) {
  for (const [name, count] of VARIANTS) {
    const out = execFileSync(process.execPath, [MEASURE, name, String(count)], {
      encoding: 'utf8',
    });
    const { nsPerPublish } = JSON.parse(out) as { nsPerPublish: number };
    samples.get(name)!.push(nsPerPublish);
    console.error(`run ${run + 1}/${runs} ${name}: ${nsPerPublish.toFixed(1)} ns/publish`);
  }
}

const median = (list: number[]) => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const worst = (list: number[]) => Math.max(...list);
const figure = (name: Variant) => ({
  median: median(samples.get(name)!),
  worst: worst(samples.get(name)!),
});
const ns = (value: number) =>
  value >= 10_000 ? `${(value / 1000).toFixed(1)} µs` : `${value.toFixed(0)} ns`;

const empty = figure('empty');
const api = figure('api-noop');
const rows: string[][] = [
  [
    'API calls per publish, no provider (over an empty loop)',
    ns(api.median - empty.median),
    ns(api.worst - empty.median),
    '—',
  ],
];
for (const [plain, sdk, label] of [
  ['hub', 'hub-sdk', 'Hub.publish in process'],
  ['http', 'http-sdk', 'publish request over HTTP/1.1'],
] as const) {
  const without = figure(plain);
  const withSdk = figure(sdk);
  rows.push([`${label}, no provider`, ns(without.median), ns(without.worst), '1.00×']);
  rows.push([
    `${label}, SDK + dropping exporter`,
    ns(withSdk.median),
    ns(withSdk.worst),
    formatRatio(withSdk.median / without.median),
  ]);
}
const loadAtEnd = loadavg();
const table = markdownTable(['per publish', 'median', 'worst run', 'vs no provider'], rows);
const markdown = `# Tracing cost per publish

\`npm run bench:tracing\` (${runs} runs, each measurement in a fresh process), ${machine.node},
${machine.cpus} × ${machine.cpuModel}; load average ${machine.loadAverageAtStart.map((v) => v.toFixed(1)).join(' ')} at the start,
${loadAtEnd.map((v) => v.toFixed(1)).join(' ')} at the end.

${table}
`;
console.log(`\n${markdown}`);
if (!values['no-write']) {
  writeResults(
    'tracing',
    {
      machine,
      loadAverageAtEnd: loadAtEnd,
      runs,
      samplesNsPerPublish: Object.fromEntries(samples),
    },
    markdown,
  );
}
