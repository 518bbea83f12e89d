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
  /** Largest publish request body, bytes, at most {@link MAX_BODY_BYTES}. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * How long a publish body may take to arrive, ms, counted from the end of the request
   * head: past it the request gets 408 and its connection is closed. Default 30 000.
   */
  bodyTimeoutMs?: number;
  /**
   * How long a request head (request line and headers) may take to arrive, ms, on a server
   * started by {@link Hub.listen}: past it the connection gets 408 and is closed. Default 10 000.
   */
  headersTimeoutMs?: number;
  /** Most `topic` selectors in one subscription. Default 100. */
  maxTopicsPerSubscription?: number;
  /** Most topics (canonical + alternates) in one update. Default 100. */
  maxTopicsPerUpdate?: number;
  /** Most characters in one topic or topic selector (400 beyond). Default 2048. */
  maxTopicLength?: number;
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
  /**
   * Where the admin routes are served: the dashboard at `/`, its `/stats` stream and
   * `/metrics`. `'separate'` (default): only on the admin listener (`hub.adminHandler`,
   * `hub.listenAdmin()`), so the public one answers the Mercure endpoint and the health
   * checks and nothing else. `'public'`: on the public listener as well (development).
   */
  admin?: 'separate' | 'public';
  /** Serve the dashboard at `/` (and its `/stats` stream) where admin routes are served. Default true. */
  dashboard?: boolean;
  /**
   * Development only: a publisher token handed to the dashboard page (so its publish form
   * works) and served as text at `GET /dev/token` (without CORS headers, so other sites
   * cannot read it), so a local `curl` can pick it up.
   */
  devPublisherToken?: string;
  /**
   * Development only: the secret the dashboard's token helper signs with
   * (`POST /admin/token/mint` on the admin listener). Without it, minting is off.
   */
  devSecret?: string;
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
  Omit<HubOptions, 'broker' | 'logger' | 'devPublisherToken' | 'devSecret' | 'publicUrl'>
> &
  Pick<HubOptions, 'broker' | 'devPublisherToken' | 'devSecret' | 'publicUrl'>;

export const HUB_DEFAULTS = {
  transport: 'memory://',
  heartbeatMs: 15_000,
  subscriptions: false,
  maxBodyBytes: 1024 * 1024,
  bodyTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  maxTopicsPerSubscription: 100,
  maxTopicsPerUpdate: 100,
  maxTopicLength: 2048,
  maxConnections: 0,
  maxConnectionsPerIp: 0,
  retryAfterSeconds: 5,
  maxQueueBytes: 1024 * 1024,
  trustProxy: false,
  admin: 'separate',
  dashboard: true,
  shutdownRetryMs: 1000,
  shutdownTimeoutMs: 10_000,
  processMetrics: true,
  mercureDrafts: MERCURE_DRAFTS,
} as const;

/** The longest delay a Node timer can wait; a longer one fires at once instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The largest `maxBodyBytes`: a body is held in memory and decoded to one string (V8 strings
 * stop near 2^29 characters), and the update is encoded again beside it.
 */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/**
 * The longest `shutdownRetryMs`: streams get up to one and a half times it as `retry:`, and a
 * client waits that long with a timer, which must not overflow either.
 */
export const MAX_SHUTDOWN_RETRY_MS = Math.floor(MAX_TIMER_MS / 1.5);

type NumericOption = {
  [K in keyof typeof HUB_DEFAULTS]: (typeof HUB_DEFAULTS)[K] extends number ? K : never;
}[keyof typeof HUB_DEFAULTS];

/**
 * The range of every numeric option, checked when the hub is created: a value that would
 * only fail later (a heartbeat timer that overflows, a queue that holds nothing) stops the
 * hub at start, with the option named. The CLI declares the same bounds on its flags.
 */
export const HUB_OPTION_RANGES: Readonly<
  Record<NumericOption, { min: number; max?: number; note?: string }>
> = {
  heartbeatMs: {
    min: 0,
    max: MAX_TIMER_MS,
    note: '0 turns heartbeats off; more overflows a timer',
  },
  maxBodyBytes: { min: 1, max: MAX_BODY_BYTES, note: 'a body is held in memory as one string' },
  bodyTimeoutMs: { min: 1, max: MAX_TIMER_MS, note: 'more overflows a timer' },
  headersTimeoutMs: { min: 1, max: MAX_TIMER_MS, note: 'more overflows a timer' },
  maxTopicsPerSubscription: { min: 1 },
  maxTopicsPerUpdate: { min: 1 },
  maxTopicLength: { min: 1 },
  maxConnections: { min: 0, note: '0 for no limit' },
  maxConnectionsPerIp: { min: 0, note: '0 for no limit' },
  retryAfterSeconds: { min: 0 },
  maxQueueBytes: { min: 1, note: 'a queue must hold at least one byte' },
  shutdownRetryMs: {
    min: 0,
    max: MAX_SHUTDOWN_RETRY_MS,
    note: 'streams get up to 1.5 times it, which must not overflow a client timer',
  },
  shutdownTimeoutMs: { min: 0, max: MAX_TIMER_MS, note: 'more overflows a timer' },
};

const BOOLEAN_OPTIONS = ['subscriptions', 'trustProxy', 'dashboard', 'processMetrics'] as const;

/** RFC 6265 §4.1.1: a cookie name is an RFC 2616 token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isCookieName(name: string): boolean {
  return COOKIE_NAME.test(name);
}

/**
 * Fills in the defaults and checks every option.
 *
 * @throws RangeError naming the option, the value and what it must be.
 */
export function resolveHubOptions(options: HubOptions): ResolvedHubOptions {
  if (typeof options?.auth !== 'object' || options.auth === null) {
    throw new RangeError(
      'hub option auth is required: the keys that verify tokens, anonymous, allowedOrigins',
    );
  }
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as HubOptions;
  const resolved: ResolvedHubOptions = {
    ...HUB_DEFAULTS,
    corsOrigins: options.auth.allowedOrigins,
    ...defined,
  } as ResolvedHubOptions;
  for (const [name, range] of Object.entries(HUB_OPTION_RANGES) as [
    NumericOption,
    (typeof HUB_OPTION_RANGES)[NumericOption],
  ][]) {
    const value: unknown = resolved[name];
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (
      typeof value !== 'number' ||
      !Number.isSafeInteger(value) ||
      value < range.min ||
      value > max
    ) {
      const bounds = range.max === undefined ? `at least ${range.min}` : `${range.min} to ${max}`;
      const note = range.note === undefined ? '' : ` (${range.note})`;
      throw new RangeError(
        `hub option ${name} must be a whole number, ${bounds}${note}; got ${String(value)}`,
      );
    }
  }
  for (const name of BOOLEAN_OPTIONS) {
    if (typeof resolved[name] !== 'boolean') {
      throw new RangeError(
        `hub option ${name} must be true or false, got ${String(resolved[name])}`,
      );
    }
  }
  if (typeof resolved.transport !== 'string') {
    throw new RangeError(`hub option transport must be a URL string like memory://`);
  }
  if (
    !Array.isArray(resolved.corsOrigins) ||
    !resolved.corsOrigins.every((origin) => typeof origin === 'string')
  ) {
    throw new RangeError('hub option corsOrigins must be an array of origin strings');
  }
  const cookieName = options.auth.cookieName;
  if (cookieName !== undefined && !isCookieName(cookieName)) {
    throw new RangeError(
      `hub option auth.cookieName ${JSON.stringify(cookieName)} is not a cookie name: use letters, digits and !#$%&'*+-.^_\`|~ only`,
    );
  }
  if (resolved.admin !== 'separate' && resolved.admin !== 'public') {
    throw new RangeError(
      `hub option admin must be 'separate' or 'public', got ${JSON.stringify(resolved.admin)}`,
    );
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
