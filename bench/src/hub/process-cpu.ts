import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second, as `getconf CLK_TCK` gives on Linux. */
const TICKS_PER_SECOND = 100;

/** CPU time a process has used so far (user + system), in seconds; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields from after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** The machine's load average (1, 5, 15 min) as /proc/loadavg reports it. */
export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [one!, five!, fifteen!];
}
