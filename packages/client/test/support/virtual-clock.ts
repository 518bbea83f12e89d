import type { Clock } from '@tidings/client';

interface Timer {
  due: number;
  order: number;
  callback: () => void;
}

/**
 * A clock whose time moves only when told to, so a 30-second backoff takes no real time and
 * its length can be asserted exactly.
 *
 * - Manual (default): timers fire from {@link advance} / {@link runNext}; {@link pending}
 *   shows what is scheduled, e.g. to assert the delay a client chose.
 * - `auto: true`: the earliest timer fires on the next real macrotask and time jumps to its
 *   due time. Code under test then runs at full speed while every delay it waits is still
 *   measured exactly by `now()`.
 */
export class VirtualClock implements Clock {
  #now: number;
  #order = 0;
  #nextHandle = 1;
  readonly #timers = new Map<number, Timer>();
  readonly #auto: boolean;
  #autoScheduled = false;
  readonly #waiters: { count: number; resolve: () => void }[] = [];

  constructor(options: { auto?: boolean; start?: number } = {}) {
    this.#auto = options.auto ?? false;
    this.#now = options.start ?? 1_000_000;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, milliseconds: number): unknown {
    const handle = this.#nextHandle++;
    const due = this.#now + Math.max(0, milliseconds);
    this.#timers.set(handle, { due, order: this.#order++, callback });
    this.#notify();
    if (this.#auto) this.#scheduleAuto();
    return handle;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** The delays (from now) of the timers still pending, soonest first. */
  pending(): number[] {
    return [...this.#timers.values()].map((timer) => timer.due - this.#now).sort((a, b) => a - b);
  }

  /** Resolves once at least `count` timers are pending (polls the event loop, real time). */
  async waitForTimers(count = 1, timeoutMs = 5000): Promise<void> {
    if (this.#timers.size >= count) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = { count, resolve };
      this.#waiters.push(waiter);
      setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index === -1) return;
        this.#waiters.splice(index, 1);
        reject(new Error(`expected ${count} pending timer(s) within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  /** Moves time forward by `milliseconds`, firing every timer that falls due, in order. */
  advance(milliseconds: number): void {
    const target = this.#now + milliseconds;
    for (;;) {
      const timer = this.#earliest();
      if (timer === undefined || timer[1].due > target) break;
      this.#fire(timer);
    }
    this.#now = target;
  }

  /** Jumps to the earliest timer and fires it; returns the delay that passed. */
  runNext(): number {
    const timer = this.#earliest();
    if (timer === undefined) throw new Error('no timer is pending');
    const before = this.#now;
    this.#fire(timer);
    return this.#now - before;
  }

  #earliest(): [number, Timer] | undefined {
    let best: [number, Timer] | undefined;
    for (const entry of this.#timers) {
      const [, timer] = entry;
      if (
        best === undefined ||
        timer.due < best[1].due ||
        (timer.due === best[1].due && timer.order < best[1].order)
      ) {
        best = entry;
      }
    }
    return best;
  }

  #fire([handle, timer]: [number, Timer]): void {
    this.#timers.delete(handle);
    this.#now = Math.max(this.#now, timer.due);
    timer.callback();
  }

  #notify(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i];
      if (waiter !== undefined && this.#timers.size >= waiter.count) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  #scheduleAuto(): void {
    if (this.#autoScheduled) return;
    this.#autoScheduled = true;
    // A real macrotask later, so I/O that is already under way is not starved.
    setImmediate(() => {
      this.#autoScheduled = false;
      const timer = this.#earliest();
      if (timer === undefined) return;
      this.#fire(timer);
      if (this.#timers.size > 0) this.#scheduleAuto();
    });
  }
}
