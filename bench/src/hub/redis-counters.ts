import type { Redis } from 'ioredis';

/** One command's line of `INFO commandstats`. */
export interface CommandCounter {
  calls: number;
  usec: number;
}

export type CommandCounters = Record<string, CommandCounter>;

/** Redis's own count of calls and µs per command since the last CONFIG RESETSTAT. */
export async function commandCounters(admin: Redis): Promise<CommandCounters> {
  const info = await admin.info('commandstats');
  const counters: CommandCounters = {};
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) counters[match[1]!] = { calls: Number(match[2]), usec: Number(match[3]) };
  }
  return counters;
}

/** What happened between two readings. */
export function countersSince(before: CommandCounters, after: CommandCounters): CommandCounters {
  const since: CommandCounters = {};
  for (const [name, now] of Object.entries(after)) {
    const then = before[name] ?? { calls: 0, usec: 0 };
    if (now.calls > then.calls)
      since[name] = { calls: now.calls - then.calls, usec: now.usec - then.usec };
  }
  return since;
}
