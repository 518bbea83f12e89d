/**
 * `npm run bench:resumable`: tokens per second through resumable streams, 1000 concurrent
 * replies with one reader each — @tidings/server's memory store, @tidings/redis, and
 * Vercel's `resumable-stream` on the same redis-server, in the same process tree and the same
 * run, interleaved run by run. ASCII tokens beside multi-byte Unicode ones.
 *
 * Every reader's text is checked (the full reply, exactly): a fast wrong answer is no result.
 */
import { fail, parseOptions, positiveInteger, writeResults } from '../load/cli.js';
import { formatCount, formatRatio, machineInfo, markdownTable } from '../load/report.js';
import { startRedis } from './redis-process.js';
import { resumableStream, type System, tidingsMemory, tidingsRedis } from './systems.js';

const USAGE = `usage: node bench/dist/resumable/run.js [options]

  --runs N        runs of every measurement; medians and the worst run are reported (default 3)
  --replies N     concurrent replies, one reader each (default 1000)
  --tokens N      tokens per reply (default 100)
  --no-write      print only; leave bench/results alone`;

const values = parseOptions(USAGE, {
  runs: { type: 'string', default: '3' },
  replies: { type: 'string', default: '1000' },
  tokens: { type: 'string', default: '100' },
  'no-write': { type: 'boolean', default: false },
});
const runs = positiveInteger('runs', values.runs);
const replies = positiveInteger('replies', values.replies);
const tokenCount = positiveInteger('tokens', values.tokens);

const TOKEN_KINDS: Record<string, string[]> = {
  ascii: Array.from({ length: tokenCount }, (_, i) => `tok${i % 10} `),
  unicode: Array.from({ length: tokenCount }, (_, i) => `тёк${i % 10}✓ `),
};

const redis = await startRedis();
const systems: System[] = [
  tidingsMemory(),
  tidingsRedis(redis.url),
  resumableStream(redis.url, false),
  resumableStream(redis.url, true),
];

const rates = new Map<string, number[]>();
try {
  for (let run = 0; run < runs; run++) {
    for (const [kind, tokens] of Object.entries(TOKEN_KINDS)) {
      const expected = tokens.join('').length;
      for (const system of systems) {
        const began = performance.now();
        const received = await system.run(
          replies,
          tokens,
          `r${run}-${kind}-${systems.indexOf(system)}`,
        );
        const seconds = (performance.now() - began) / 1000;
        const wrong = received.findIndex((chars) => chars !== expected);
        if (wrong >= 0) {
          fail(
            `${system.name}: reader ${wrong} got ${received[wrong]} characters, not ${expected}`,
          );
        }
        const rate = (replies * tokens.length) / seconds;
        const key = `${system.name}|${kind}`;
        rates.set(key, [...(rates.get(key) ?? []), rate]);
        console.log(
          `run ${run + 1} ${kind.padEnd(7)} ${system.name}: ${formatCount(rate)} tokens/s`,
        );
      }
    }
  }
} finally {
  await Promise.all(systems.map((system) => system.close()));
  await redis.stop();
}

const median = (list: number[]) => {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const rows: string[][] = [];
const json: Record<string, { median: number; worst: number; runs: number[] }> = {};
for (const [key, list] of rates) {
  const [name, kind] = key.split('|') as [string, string];
  json[key] = { median: median(list), worst: Math.min(...list), runs: list };
  rows.push([name, kind, formatCount(median(list)), formatCount(Math.min(...list))]);
}
const ratio = (ours: string, theirs: string, kind: string) =>
  formatRatio(median(rates.get(`${ours}|${kind}`)!) / median(rates.get(`${theirs}|${kind}`)!));
const ratios = Object.keys(TOKEN_KINDS).map((kind) => [
  kind,
  ratio(systems[1]!.name, systems[3]!.name, kind),
  ratio(systems[0]!.name, systems[2]!.name, kind),
]);
const markdown = [
  `# Resumable streams: ${formatCount(replies)} concurrent replies × 1 reader, ${tokenCount} tokens each`,
  '',
  `Command: \`npm run bench:resumable -- --runs ${runs} --replies ${replies} --tokens ${tokenCount}\``,
  `Machine: ${JSON.stringify(machineInfo())}`,
  '',
  markdownTable(['system', 'tokens', 'tokens/s (median)', 'tokens/s (worst run)'], rows),
  '',
  markdownTable(
    [
      'tokens',
      'tidings Redis ÷ resumable-stream resumed',
      'tidings memory ÷ resumable-stream own stream',
    ],
    ratios,
  ),
  '',
].join('\n');
console.log(`\n${markdown}`);
if (!values['no-write'])
  writeResults(
    'resumable',
    { replies, tokens: tokenCount, machine: machineInfo(), results: json },
    markdown,
  );
