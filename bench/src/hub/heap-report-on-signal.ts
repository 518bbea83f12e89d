/**
 * Preloaded into the hub by `bench:hub-idle-breakdown`, after gc-on-signal.ts: on SIGUSR2,
 * once that hook's garbage collections have run, writes the process's memory by kind (V8
 * heap used, memory V8 holds per heap space, the rest) as JSON to
 * `$TIDINGS_HEAP_REPORT.<n>`, n counting from 1. Nothing else of the hub changes.
 */
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const target = process.env.TIDINGS_HEAP_REPORT;
let reports = 0;

process.on('SIGUSR2', () => {
  if (target === undefined) return;
  const report = ++reports;
  // gc-on-signal.ts collects at once and again 50 ms later.
  setTimeout(() => {
    const usage = process.memoryUsage();
    const spaces: Record<string, { held: number; used: number }> = {};
    for (const space of v8.getHeapSpaceStatistics()) {
      spaces[space.space_name] = { held: space.physical_space_size, used: space.space_used_size };
    }
    writeFileSync(`${target}.${report}`, JSON.stringify({ ...usage, spaces }));
  }, 150);
});
