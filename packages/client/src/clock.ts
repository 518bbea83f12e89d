/**
 * Where the client gets the time and schedules its waits (reconnection delays, stall
 * detection). Injected so tests can run a 30-second backoff in a millisecond, and so a
 * host with its own scheduler can plug it in.
 */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are used. */
  now(): number;
  /** Calls `callback` once after `milliseconds`; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(callback: () => void, milliseconds: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The host's own timers: `setTimeout`/`clearTimeout` and `performance.now()` (or `Date.now()`). */
export const systemClock: Clock = {
  now: () => globalThis.performance?.now() ?? Date.now(),
  setTimeout: (callback, milliseconds) => globalThis.setTimeout(callback, milliseconds),
  // The handle came from setTimeout above, so this cast only restores its type.
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Resolves after `milliseconds` on `clock`, or at once (without rejecting) when `signal`
 * aborts: the caller checks its own state afterwards. The timer never outlives the abort.
 */
export function sleep(clock: Clock, milliseconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
