/**
 * A fixed-window request limit per client address: at most `limit` requests per window.
 * Memory is bounded: addresses of windows that ended are forgotten, and past `maxAddresses`
 * the oldest is dropped (it then starts afresh, which errs towards letting a request in).
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, { startedAt: number; count: number }>();

  constructor(options: {
    limit: number;
    windowMs: number;
    maxAddresses?: number;
    now?: () => number;
  }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Counts a request; returns 0 when it may go ahead, else the seconds until it may. */
  take(address: string): number {
    const now = this.#now();
    let window = this.#windows.get(address);
    if (window === undefined || now - window.startedAt >= this.#windowMs) {
      this.#windows.delete(address);
      if (this.#windows.size >= this.#maxAddresses) this.#forgetEnded(now);
      window = { startedAt: now, count: 0 };
      this.#windows.set(address, window);
    }
    if (window.count >= this.#limit) {
      return Math.max(1, Math.ceil((window.startedAt + this.#windowMs - now) / 1000));
    }
    window.count++;
    return 0;
  }

  #forgetEnded(now: number): void {
    for (const [address, window] of this.#windows) {
      if (now - window.startedAt >= this.#windowMs) this.#windows.delete(address);
    }
    if (this.#windows.size >= this.#maxAddresses) {
      this.#windows.delete(this.#windows.keys().next().value!);
    }
  }
}
