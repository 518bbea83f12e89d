/** How long {@link connect} waits between attempts. Every field is optional. */
export interface BackoffOptions {
  /** The delay before the first reconnection, until the server sends `retry:`. Default 1000 ms. */
  initialDelay?: number;
  /** Each consecutive failed attempt multiplies the delay by this. Default 2. */
  factor?: number;
  /**
   * The longest delay the growth may reach. Default 30 000 ms. A server's `retry:` larger
   * than this wins: the server knows its own load best.
   */
  maxDelay?: number;
  /**
   * Up to this fraction of the delay is added at random (0 to 1, default 0.5), so clients
   * dropped together by a restarting server do not all come back in the same millisecond.
   * Jitter only ever adds: the spec's reconnection time is a minimum.
   */
  jitter?: number;
}

export interface BackoffState {
  /** Failed attempts in a row since the last successful connection: 0 for the first retry. */
  failures: number;
  /** The server's last `retry:` value, if it sent one. */
  serverRetry: number | undefined;
}

const DEFAULTS = { initialDelay: 1000, factor: 2, maxDelay: 30_000, jitter: 0.5 } as const;

/**
 * The delay before the next attempt: `base × factor^failures`, capped, plus jitter, where
 * `base` is the server's `retry:` when it sent one ("the event stream's reconnection time").
 * The spec allows the growth: "if the previous attempt failed, then user agents might
 * introduce an exponential backoff delay to avoid overloading a potentially already
 * overloaded server".
 *
 * @param random returns a number in [0, 1); tests pass a fixed one.
 */
export function backoffDelay(
  state: BackoffState,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initialDelay = nonNegative(options.initialDelay, DEFAULTS.initialDelay, 'initialDelay');
  const factor = nonNegative(options.factor, DEFAULTS.factor, 'factor');
  const maxDelay = nonNegative(options.maxDelay, DEFAULTS.maxDelay, 'maxDelay');
  const jitter = Math.min(1, nonNegative(options.jitter, DEFAULTS.jitter, 'jitter'));

  const base = state.serverRetry ?? initialDelay;
  const ceiling = Math.max(maxDelay, base);
  // Math.min also tames the Infinity that factor ** failures reaches after enough failures.
  const delay = Math.min(ceiling, base * factor ** state.failures);
  return Math.round(delay + delay * jitter * random());
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`backoff.${name} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

/**
 * The delay a `Retry-After` header asks for (seconds, or an HTTP date), or undefined when it
 * is absent or unreadable. Sent with 503 and 429, it is the server saying when to come back.
 */
export function retryAfterDelay(
  header: string | null,
  now: number = Date.now(),
): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
