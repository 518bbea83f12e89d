/**
 * Microseconds on the machine's monotonic clock. `process.hrtime` reads CLOCK_MONOTONIC,
 * which every process on one machine shares, so a time stamped by the publisher's process
 * can be subtracted from one read in a load process. (`performance.now()` cannot: its origin
 * is each process's own start.)
 */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
