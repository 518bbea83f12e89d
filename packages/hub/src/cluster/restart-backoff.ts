/**
 * How long to wait before starting a crashed worker again: 100 ms, doubling on each crash
 * up to 30 s, so a worker that dies at once on every start (a bad disk, an exhausted
 * machine) costs little while one that crashed once is back at once. A worker that ran for
 * {@link STABLE_AFTER_MS} before crashing starts the sequence over.
 */
export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 30_000;
export const STABLE_AFTER_MS = 10_000;

export class RestartBackoff {
  #next = FIRST_DELAY_MS;

  /** The delay before the next start, given how long the worker ran before it exited. */
  delayAfter(ranMs: number): number {
    if (ranMs >= STABLE_AFTER_MS) this.#next = FIRST_DELAY_MS;
    const delay = this.#next;
    this.#next = Math.min(this.#next * 2, MAX_DELAY_MS);
    return delay;
  }
}
