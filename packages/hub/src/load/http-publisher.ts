import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { nowMicros } from './clock.js';

/** Where and how a {@link HttpPublisher} publishes: any hub that speaks Mercure. */
export interface HttpPublisherTarget {
  /** The hub endpoint, e.g. `http://localhost:3000/.well-known/mercure`. */
  url: URL;
  /** Sent as `Authorization: Bearer <token>`; absent for a hub that needs none. */
  token?: string;
  topic: string;
  /** The run's name, carried in every update so subscribers can tell its updates apart. */
  marker: string;
  /** HTTPS: accept a certificate no trusted authority signed. */
  insecure?: boolean;
  /**
   * Keep-alive connections publishes are spread over (default {@link DEFAULT_PUBLISH_CONNECTIONS}):
   * one connection carries one request at a time, so at a high rate or against a slow hub
   * too few would make the publisher the bottleneck.
   */
  connections?: number;
}

export const DEFAULT_PUBLISH_CONNECTIONS = 64;

export interface PublishRun {
  /** Updates sent; the last carried this number (they run from 1). */
  published: number;
  failed: number;
  /** Status codes or error codes of failed publishes, and how often each happened. */
  failures: Record<string, number>;
  elapsedMs: number;
}

/**
 * Publishes numbered updates to a hub at a steady rate, over a pool of keep-alive
 * connections, as a Mercure form (`topic`, `data`). Each update's data is
 * `{"marker":"<marker>","n":<number>,"a":<answered through>,"t":<due time in µs>}`: the load
 * processes read `t` for the latency (one machine's monotonic clock, so publisher and
 * subscribers must share it), `n` for what was dropped, duplicated or reordered, and `a` (every
 * update up to that number had been answered when this one was sent) to tell a reorder by the
 * hub from two publishes that overtook each other on their way to it (see SequenceWindow).
 *
 * An update is stamped with the time it was due, not when it left: a publisher that falls
 * behind shows up as latency rather than hiding it.
 */
export class HttpPublisher {
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private sequence = 0;
  /** Every update up to this number has been answered (successfully or not). */
  private answeredThrough = 0;
  /** Answered numbers above {@link answeredThrough}, waiting for the ones before them. */
  private readonly answeredAhead = new Set<number>();
  /** Updates sent so far (for a progress line). */
  sent = 0;
  failed = 0;

  constructor(private readonly target: HttpPublisherTarget) {
    const https = target.url.protocol === 'https:';
    const maxSockets = target.connections ?? DEFAULT_PUBLISH_CONNECTIONS;
    if (!Number.isInteger(maxSockets) || maxSockets < 1) {
      throw new RangeError(`connections must be a whole number of at least 1, got ${maxSockets}`);
    }
    // Idle connections stay open (maxFreeSockets) so a steady rate never pays a new handshake.
    const pool = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
    this.agent = https
      ? new HttpsAgent({ ...pool, rejectUnauthorized: target.insecure !== true })
      : new HttpAgent(pool);
    this.send = https ? httpsRequest : httpRequest;
  }

  /** Publishes `rate` updates per second for `durationMs`; resolves when every one was answered. */
  async run(rate: number, durationMs: number): Promise<PublishRun> {
    const total = Math.floor((rate * durationMs) / 1000);
    const intervalUs = 1_000_000 / rate;
    const start = nowMicros();
    const failures: Record<string, number> = {};
    const inFlight: Promise<void>[] = [];
    let issued = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor((nowMicros() - start) / intervalUs));
        while (issued < due) {
          // Update k (from 0) comes due when k + 1 intervals have passed.
          const dueMicros = Math.round(start + (issued + 1) * intervalUs);
          issued++;
          inFlight.push(
            this.publishOne(dueMicros).then((failure) => {
              if (failure === '') return;
              this.failed++;
              failures[failure] = (failures[failure] ?? 0) + 1;
            }),
          );
        }
        if (issued >= total) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    await Promise.all(inFlight);
    return {
      published: issued,
      failed: this.failed,
      failures,
      elapsedMs: (nowMicros() - start) / 1000,
    };
  }

  /** The number the last update carried (0 before any). */
  get lastNumber(): number {
    return this.sequence;
  }

  /** Publishes one update; resolves with '' on success, else a short reason. */
  async publishOne(dueMicros = nowMicros()): Promise<string> {
    const n = ++this.sequence;
    this.sent++;
    const data = `{"marker":${JSON.stringify(this.target.marker)},"n":${n},"a":${this.answeredThrough},"t":${dueMicros}}`;
    const body = new URLSearchParams({ topic: this.target.topic, data }).toString();
    const first = await this.post(body);
    // A keep-alive connection the hub closed just as it was reused: the update never reached
    // the hub, so it is sent again on a new connection (as Node's `reusedSocket` docs advise).
    const outcome = first !== 'retry' ? first : await this.post(body);
    this.answered(n);
    return outcome === 'retry' ? 'ECONNRESET' : outcome;
  }

  /** The mark moves past `n` once every update before it has been answered too. */
  private answered(n: number): void {
    if (n !== this.answeredThrough + 1) {
      this.answeredAhead.add(n);
      return;
    }
    this.answeredThrough = n;
    while (this.answeredAhead.delete(this.answeredThrough + 1)) this.answeredThrough++;
  }

  private post(body: string): Promise<string> {
    return new Promise((resolve) => {
      const req = this.send(
        this.target.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            ...(this.target.token === undefined
              ? {}
              : { authorization: `Bearer ${this.target.token}` }),
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            resolve(status >= 200 && status < 300 ? '' : `HTTP ${status}`);
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (req.reusedSocket && error.code === 'ECONNRESET') resolve('retry');
        else resolve(error.code ?? error.message);
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
