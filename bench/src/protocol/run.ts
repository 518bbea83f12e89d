/**
 * `npm run bench:protocol`: @tidings/protocol against eventsource-parser (the newest line the
 * running Node supports, see contenders.ts) on three corpora, as strings and as bytes, in
 * 16 KiB and 64-byte chunks; and the encoder against a plain template string. Prints a table
 * and writes bench/results/protocol-node<major>.json and .md, one pair per Node line, since
 * both the runtime and the peer differ between them.
 *
 *   node bench/dist/protocol/run.js [--rounds N] [--min-run-ms N] [--only a,b,c,encoder]
 *
 * Each row runs in a child process of its own (see rows.ts); inside it, both contenders run interleaved in short ABBA slices
 * (see measure.ts), and the median and the slowest of the per-round ratios are reported.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { listOf, parseOptions, positiveInteger } from '../load/cli.js';
import { PEER_NAME } from './contenders.js';
import { CORPUS_KEYS } from './corpora.js';
import type { MeasureOptions } from './measure.js';
import { allRows, measureRow, type RowResult, type RowSpec } from './rows.js';

const USAGE = `usage: node bench/dist/protocol/run.js [options]

  --rounds N       interleaved rounds per row; medians and the slowest are reported (default 9)
  --min-run-ms N   shortest time of one contender in a round, in ABBA slices (default 300)
  --slice-ms N     shortest slice of one contender (default 20)
  --only list      among a to f (the corpora) and encoder (default: all)`;

const values = parseOptions(USAGE, {
  rounds: { type: 'string', default: '9' },
  'min-run-ms': { type: 'string', default: '300' },
  'slice-ms': { type: 'string', default: '20' },
  only: { type: 'string' },
  row: { type: 'string' },
});

const options: MeasureOptions = {
  rounds: positiveInteger('rounds', values.rounds),
  minRunMs: positiveInteger('min-run-ms', values['min-run-ms']),
  warmupMs: 400,
  sliceMs: positiveInteger('slice-ms', values['slice-ms']),
};
// Checked before any row runs: an unknown name would select no rows and overwrite the results
// with an empty table.
const only =
  values.only === undefined
    ? undefined
    : listOf('only', values.only, [...CORPUS_KEYS, 'encoder'] as const, USAGE);

if (values.row !== undefined) {
  // Child: measure one row and hand the result back on stdout.
  const result = measureRow(JSON.parse(values.row) as RowSpec, options);
  process.stdout.write(JSON.stringify(result));
} else {
  main();
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** The row's median and, by CPU time, its slowest round must both reach the target. */
function meets(result: RowResult): boolean {
  const { target, comparison } = result;
  return target === undefined || (comparison.ratio >= target && comparison.cpuWorstRatio >= target);
}

function verdict(result: RowResult): string {
  if (result.target === undefined) return '';
  return `${meets(result) ? 'met' : 'MISSED'} (≥${result.target}×)`;
}

function ratio(value: number): string {
  return `${value.toFixed(2)}×`;
}

function main(): void {
  const rows = allRows().filter(
    (spec) =>
      only === undefined ||
      (spec.kind === 'encoder' ? only.includes('encoder') : only.includes(spec.corpus)),
  );
  const script = fileURLToPath(import.meta.url);
  const startLoad = loadavg()[0]!;
  console.log(
    `@tidings/protocol vs ${PEER_NAME} — node ${process.version}, ${cpus().length} cores, ` +
      `${options.rounds} rounds per row in ${options.sliceMs} ms ABBA slices, medians (load average ${startLoad.toFixed(1)})\n`,
  );
  const header = ['row', 'ours MB/s', 'peer MB/s', 'ratio', 'worst', 'cpu', 'cpu worst', 'target'];
  const widths = [64, 10, 10, 7, 7, 7, 9, 14];
  const printRow = (cells: string[]) =>
    console.log(
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' '),
    );
  printRow(header);
  const results: RowResult[] = [];
  for (const spec of rows) {
    const output = execFileSync(
      process.execPath,
      [
        script,
        '--row',
        JSON.stringify(spec),
        '--rounds',
        String(options.rounds),
        '--min-run-ms',
        String(options.minRunMs),
        '--slice-ms',
        String(options.sliceMs),
      ],
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const result = JSON.parse(output) as RowResult;
    results.push(result);
    const { comparison } = result;
    printRow([
      `${result.label} vs ${result.peer}`.slice(0, widths[0]),
      fmt(comparison.ours.mbPerSecond),
      fmt(comparison.theirs.mbPerSecond),
      ratio(comparison.ratio),
      ratio(comparison.worstRatio),
      ratio(comparison.cpuRatio),
      ratio(comparison.cpuWorstRatio),
      verdict(result),
    ]);
  }
  const missed = results.filter((r) => !meets(r));
  console.log(
    missed.length === 0
      ? '\nAll targets met.'
      : `\n${missed.length} target(s) missed: ${missed.map((r) => r.label).join('; ')}`,
  );
  writeResults(results, startLoad);
}

function writeResults(results: RowResult[], startLoad: number): void {
  const dir = fileURLToPath(new URL('../../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverageAtStart: startLoad,
    rounds: options.rounds,
    minRunMs: options.minRunMs,
    sliceMs: options.sliceMs,
    unit: 'MB/s = 10^6 bytes of UTF-8 input (output for the encoder) per second by the clock; medians of rounds, each giving both contenders the same time in ABBA slices; ratio = median of per-round ratios, worst = the least of them; cpu = the same by the CPU time of the process',
  };
  const name = `protocol-node${process.versions.node.split('.')[0]}`;
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
  const lines = [
    '# @tidings/protocol benchmark',
    '',
    `\`node bench/dist/protocol/run.js\` — ${meta.date.slice(0, 10)}, node ${meta.node}, ${meta.cores} × ${meta.cpu}, load average ${startLoad.toFixed(1)} at start.`,
    `Medians of ${meta.rounds} rounds (each gives both contenders at least ${meta.minRunMs} ms in ${meta.sliceMs} ms slices, in the order ABBA ABBA …); the ratio is the median of the per-round ratios, worst the slowest round's. MB/s and ratio are by the clock; the cpu columns are the same ratios by the CPU time the process used, which a busy machine's waits for a core do not inflate.`,
    '',
    '| row | peer | ours MB/s | peer MB/s | ratio | worst | cpu | cpu worst | target |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.map(
      ({ comparison: c, ...r }) =>
        `| ${r.label} | ${r.peer} | ${fmt(c.ours.mbPerSecond)} | ${fmt(c.theirs.mbPerSecond)} | ${ratio(c.ratio)} | ${ratio(c.worstRatio)} | ${ratio(c.cpuRatio)} | ${ratio(c.cpuWorstRatio)} | ${verdict({ ...r, comparison: c })} |`,
    ),
    '',
  ];
  writeFileSync(`${dir}${name}.md`, lines.join('\n'));
  console.log(`Results: ${dir}${name}.json, ${dir}${name}.md`);
}
