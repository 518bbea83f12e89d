import { HttpError } from './http/http-error.js';

export interface ConnectionLimits {
  /** Open streams in total; beyond it: 503. `0`: no limit. */
  maxConnections: number;
  /** Open streams per client address; beyond it: 429. `0`: no limit. */
  maxConnectionsPerIp: number;
  /** The `Retry-After` sent with 503 and 429, in seconds. */
  retryAfterSeconds: number;
}

/**
 * Counts open long-lived streams in total and per client address, so one client (or a
 * crowd) cannot take every file descriptor the process has. A refused connection is told
 * when to come back (`Retry-After`), which EventSource clients cannot read but fetch-based
 * clients and proxies can.
 */
export class ConnectionLimiter {
  readonly #limits: ConnectionLimits;
  readonly #perAddress = new Map<string, number>();
  #total = 0;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  get total(): number {
    return this.#total;
  }

  /**
   * Takes a slot for `address`; give it back with {@link release}, once.
   *
   * @throws HttpError 503 when the hub is full, 429 when this address has too many streams.
   */
  acquire(address: string): void {
    const { maxConnections, maxConnectionsPerIp, retryAfterSeconds } = this.#limits;
    const retryAfter = { 'Retry-After': String(retryAfterSeconds) };
    if (maxConnections > 0 && this.#total >= maxConnections) {
      throw new HttpError(
        503,
        `the hub is at its limit of ${maxConnections} open connections; retry in ${retryAfterSeconds} s`,
        retryAfter,
      );
    }
    const mine = this.#perAddress.get(address) ?? 0;
    if (maxConnectionsPerIp > 0 && mine >= maxConnectionsPerIp) {
      throw new HttpError(
        429,
        `too many open connections from ${address} (limit ${maxConnectionsPerIp} per address); close some or retry in ${retryAfterSeconds} s`,
        retryAfter,
      );
    }
    this.#total++;
    this.#perAddress.set(address, mine + 1);
  }

  /** Gives back a slot taken with {@link acquire}. */
  release(address: string): void {
    const mine = this.#perAddress.get(address);
    if (mine === undefined) return;
    this.#total--;
    if (mine <= 1) this.#perAddress.delete(address);
    else this.#perAddress.set(address, mine - 1);
  }
}
