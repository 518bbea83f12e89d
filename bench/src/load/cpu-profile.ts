/**
 * Summarizes V8 `.cpuprofile` files (written by `--cpu-prof`) as the functions with the
 * most self time, so a benchmark run can say where a server spends its CPU.
 *
 *   node bench/dist/load/cpu-profile.js <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

export function hotFunctions(
  path: string,
  top = 25,
): { totalMs: number; functions: HotFunction[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const delta = profile.timeDeltas[i] ?? 0;
    if (node === undefined) continue;
    totalUs += delta;
    const frame = node.callFrame;
    const name = frame.functionName || '(anonymous)';
    const where = frame.url === '' ? '' : `${basename(frame.url)}:${frame.lineNumber + 1}`;
    const key = `${name}@${where}`;
    const entry = selfUs.get(key) ?? { name, where, us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
  }
  const functions = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((entry) => ({
      name: entry.name,
      where: entry.where,
      selfMs: entry.us / 1000,
      share: entry.us / totalUs,
    }));
  return { totalMs: totalUs / 1000, functions };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [path, top] = process.argv.slice(2);
  if (path === undefined) {
    console.error('usage: node bench/dist/load/cpu-profile.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  const summary = hotFunctions(path, top === undefined ? 25 : Number(top));
  console.log(`${path}: ${summary.totalMs.toFixed(0)} ms sampled`);
  for (const f of summary.functions) {
    console.log(
      `${(f.share * 100).toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`,
    );
  }
}
