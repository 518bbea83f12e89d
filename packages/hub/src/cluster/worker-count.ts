import { availableParallelism } from 'node:os';

/**
 * The most hub processes `--workers` starts. Each one is a whole hub (its own broker
 * connections, fan-out and heap): far past the machine's cores they only compete for them.
 */
export const MAX_WORKERS = 256;

/**
 * Reads `--workers`: a count, or `auto` for one per core the process may use (Node's
 * `availableParallelism`, which honours CPU affinity). Returns the count, or a one-line
 * reason the value is not one.
 */
export function parseWorkerCount(
  text: string,
  cores: number = availableParallelism(),
): { count: number } | { error: string } {
  const value = text.trim().toLowerCase();
  if (value === 'auto') return { count: Math.max(1, Math.min(cores, MAX_WORKERS)) };
  if (!/^\d+$/.test(value)) {
    return {
      error: `--workers must be a number of processes or auto (one per core), got "${text}"`,
    };
  }
  const count = Number(value);
  if (count < 1 || count > MAX_WORKERS) {
    return {
      error: `--workers must be between 1 and ${MAX_WORKERS} (or auto: ${cores} here), got ${count}`,
    };
  }
  return { count };
}
