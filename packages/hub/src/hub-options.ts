import type { AuthConfig } from './auth/index.js';
import type { Broker } from './broker/broker.js';
import type { Logger } from './logger.js';
import { MERCURE_DRAFTS, type MercureDraft } from './protocol/draft.js';

/** Everything a hub can be told. Only `auth` is required; the rest has serious defaults. */
export interface HubOptions {
  /** Keys, anonymous subscribers, allowed origins, cookie and query parameter names. */
  auth: AuthConfig;
  /** A transport URL choosing the broker: `memory://` (default). Ignored when `broker` is given. */
  transport?: string;
  /** A broker instance, for embedding or tests; the hub starts and closes it. */
  broker?: Broker;
  /** Keep-alive comment interval for subscriber streams, ms; `0` turns heartbeats off. Default 15 000. */
  heartbeatMs?: number;
  /** Subscription events and the subscriptions API (draft-07 "Active Subscriptions"). Default off. */
  subscriptions?: boolean;
  /** Largest publish request body, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most `topic` selectors in one subscription. Default 100. */
  maxTopicsPerSubscription?: number;
  /** Most topics (canonical + alternates) in one update. Default 100. */
  maxTopicsPerUpdate?: number;
  /** Most open streams in total (503 beyond); `0` for no limit. Default 0. */
  maxConnections?: number;
  /** Most open streams per client address (429 beyond); `0` for no limit. Default 0. */
  maxConnectionsPerIp?: number;
  /** `Retry-After` on 503 and 429, seconds. Default 5. */
  retryAfterSeconds?: number;
  /**
   * Bytes a subscriber may fall behind before it is disconnected as a slow consumer (it
   * reconnects with `Last-Event-ID` and replays from history). Default 1 MiB.
   */
  maxQueueBytes?: number;
  /** Origins allowed to use the hub from a browser (CORS, with credentials). Default: `auth.allowedOrigins`. */
  corsOrigins?: string[];
  /** Count connection limits by the last `X-Forwarded-For` entry (behind a reverse proxy). Default false. */
  trustProxy?: boolean;
  /** Serve the dashboard at `/` (and its `/stats` stream). Default true. */
  dashboard?: boolean;
  /**
   * Development only: a publisher token handed to the dashboard page (so its publish form
   * works) and served as text at `GET /dev/token` (without CORS headers, so other sites
   * cannot read it), so a local `curl` can pick it up.
   */
  devPublisherToken?: string;
  /**
   * The `retry:` sent to open streams on shutdown, ms: clients reconnect (to another node)
   * after about this long. Each stream gets a value between half and one and a half times
   * it, so a crowd does not come back at the same instant. Default 1000.
   */
  shutdownRetryMs?: number;
  /** How long shutdown waits for connections to finish before cutting them, ms. Default 10 000. */
  shutdownTimeoutMs?: number;
  /** Default: JSON lines on stdout, pretty in a terminal, level `info`. */
  logger?: Logger;
  /** Process metrics (CPU, memory, event loop lag) on `/metrics` beside the hub's. Default true. */
  processMetrics?: boolean;
  /** The Mercure drafts spoken: `['07', '08']` (default), or one of them. */
  mercureDrafts?: readonly MercureDraft[];
  /**
   * The hub's public URL (e.g. `https://hub.example.com/.well-known/mercure`): the base of
   * draft-08 URL patterns and the default audience of draft-08 tokens. Default: derived from
   * each request (its `Host`, and `X-Forwarded-Proto` with `trustProxy`).
   */
  publicUrl?: string;
}

export type ResolvedHubOptions = Required<
  Omit<HubOptions, 'broker' | 'logger' | 'devPublisherToken' | 'publicUrl'>
> &
  Pick<HubOptions, 'broker' | 'devPublisherToken' | 'publicUrl'>;

export const HUB_DEFAULTS = {
  transport: 'memory://',
  heartbeatMs: 15_000,
  subscriptions: false,
  maxBodyBytes: 1024 * 1024,
  maxTopicsPerSubscription: 100,
  maxTopicsPerUpdate: 100,
  maxConnections: 0,
  maxConnectionsPerIp: 0,
  retryAfterSeconds: 5,
  maxQueueBytes: 1024 * 1024,
  trustProxy: false,
  dashboard: true,
  shutdownRetryMs: 1000,
  shutdownTimeoutMs: 10_000,
  processMetrics: true,
  mercureDrafts: MERCURE_DRAFTS,
} as const;

export function resolveHubOptions(options: HubOptions): ResolvedHubOptions {
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as HubOptions;
  const resolved: ResolvedHubOptions = {
    ...HUB_DEFAULTS,
    corsOrigins: options.auth.allowedOrigins,
    ...defined,
  } as ResolvedHubOptions;
  for (const name of [
    'heartbeatMs',
    'maxBodyBytes',
    'maxTopicsPerSubscription',
    'maxTopicsPerUpdate',
    'maxConnections',
    'maxConnectionsPerIp',
    'retryAfterSeconds',
    'maxQueueBytes',
    'shutdownRetryMs',
    'shutdownTimeoutMs',
  ] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `hub option ${name} must be a non-negative integer, got ${String(value)}`,
      );
    }
  }
  for (const name of ['maxTopicsPerSubscription', 'maxTopicsPerUpdate', 'maxBodyBytes'] as const) {
    if (resolved[name] === 0) throw new RangeError(`hub option ${name} must be at least 1`);
  }
  if (
    resolved.mercureDrafts.length === 0 ||
    !resolved.mercureDrafts.every((draft) => MERCURE_DRAFTS.includes(draft))
  ) {
    throw new RangeError(
      `hub option mercureDrafts must list "07", "08" or both, got ${JSON.stringify(resolved.mercureDrafts)}`,
    );
  }
  if (resolved.publicUrl !== undefined && !URL.canParse(resolved.publicUrl)) {
    throw new RangeError(`hub option publicUrl must be an absolute URL, got ${resolved.publicUrl}`);
  }
  return resolved;
}
