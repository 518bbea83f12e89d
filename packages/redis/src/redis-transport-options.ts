import { BrokerConfigError } from '@tidings/hub';

/** What a `redis://` or `rediss://` transport URL says, after validation. */
export interface RedisTransportOptions {
  /** The connection URL handed to ioredis: scheme, credentials, host, port and database only. */
  readonly connection: string;
  /** Where the broker keeps its keys: `<key>:log`, `<key>:meta`, `<key>:ids`, `<key>:presence:…`. */
  readonly key: string;
  /** Updates kept in the stream for replay; the oldest go first. */
  readonly maxEvents: number;
  /** How long an update is kept for replay, ms; `0` for no age limit. */
  readonly maxAgeMs: number;
  /** Replicas that must confirm an append (`WAIT`) before the publisher is acknowledged. */
  readonly waitReplicas: number;
  /** How long `WAIT` may take, ms. */
  readonly waitTimeoutMs: number;
  /** How long any one Redis command may take before it fails as unavailable, ms. */
  readonly timeoutMs: number;
  /** How often a node refreshes its presence (subscriptions API), ms. */
  readonly presenceHeartbeatMs: number;
  /**
   * How long a node's presence lasts without a heartbeat, ms; longer than the heartbeat. A
   * killed node's subscribers leave the subscriptions API within ttl + heartbeat.
   */
  readonly presenceTtlMs: number;
}

/**
 * The defaults: a history as long as the memory broker's, kept a day at most, and a
 * publish that fails within two seconds when Redis does not answer.
 */
export const REDIS_DEFAULTS = {
  key: 'tidings',
  maxEvents: 10_000,
  maxAgeMs: 86_400_000,
  waitReplicas: 0,
  waitTimeoutMs: 1000,
  timeoutMs: 2000,
  presenceHeartbeatMs: 5000,
  presenceTtlMs: 15_000,
} as const;

const PARAMETERS =
  'key, max_events, max_age, wait, wait_timeout, timeout, presence_heartbeat and presence_ttl';

/**
 * Reads `redis://[user:pass@]host:port[/db][?key=tidings&max_events=10000&max_age=24h&wait=1&wait_timeout=1s&timeout=2s&presence_heartbeat=5s&presence_ttl=15s]`
 * (`rediss://` for TLS).
 *
 * @throws BrokerConfigError naming the parameter and the accepted forms.
 */
export function parseRedisTransport(url: URL): RedisTransportOptions {
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new BrokerConfigError(`transport "${url.href}" is not a redis:// or rediss:// URL`);
  }
  if (url.hostname === '') {
    throw new BrokerConfigError(
      `transport "${url.href}" names no host: write e.g. ${scheme}://127.0.0.1:6379`,
    );
  }
  const database = url.pathname.replace(/^\//, '');
  if (database !== '' && !/^\d+$/.test(database)) {
    throw new BrokerConfigError(
      `transport "${url.href}": the path must be a database number (e.g. /0), got "/${database}"`,
    );
  }
  const options: { -readonly [K in keyof RedisTransportOptions]: RedisTransportOptions[K] } = {
    ...REDIS_DEFAULTS,
    connection: `${scheme}://${url.username || url.password ? `${url.username}:${url.password}@` : ''}${url.host}${database === '' ? '' : `/${database}`}`,
  };
  for (const [name, value] of url.searchParams) {
    const what = `transport ${scheme}:// parameter ${name}`;
    switch (name) {
      case 'key':
        if (!/^[\w.:{}-]+$/.test(value)) {
          throw new BrokerConfigError(
            `${what}: "${value}" is not a key prefix; use letters, digits and _ . : - { }`,
          );
        }
        options.key = value;
        break;
      case 'max_events':
        options.maxEvents = parseCount(value, what, 1);
        break;
      case 'max_age':
        options.maxAgeMs = parseDuration(value, what);
        break;
      case 'wait':
        options.waitReplicas = parseCount(value, what, 0);
        break;
      case 'wait_timeout':
        options.waitTimeoutMs = parseDuration(value, what);
        break;
      case 'timeout':
        options.timeoutMs = Math.max(1, parseDuration(value, what));
        break;
      case 'presence_heartbeat':
        options.presenceHeartbeatMs = parseDuration(value, what);
        if (options.presenceHeartbeatMs < 1) {
          throw new BrokerConfigError(`${what}: "${value}" must be at least 1ms`);
        }
        break;
      case 'presence_ttl':
        options.presenceTtlMs = parseDuration(value, what);
        break;
      case 'sentinel':
      case 'sentinels':
        throw new BrokerConfigError(
          `${what}: Redis Sentinel is not supported; point the transport at the current primary`,
        );
      default:
        throw new BrokerConfigError(
          `unknown parameter "${name}" in transport URL "${url.href}": ${scheme}:// takes ${PARAMETERS}`,
        );
    }
  }
  if (options.presenceTtlMs <= options.presenceHeartbeatMs) {
    throw new BrokerConfigError(
      `transport ${scheme}:// parameter presence_ttl: ${options.presenceTtlMs} ms must be longer than presence_heartbeat (${options.presenceHeartbeatMs} ms), or a live node would be taken for dead between two heartbeats; three heartbeats is usual`,
    );
  }
  return options;
}

function parseCount(text: string, what: string, least: number): number {
  const count = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(count) || count < least) {
    throw new BrokerConfigError(`${what}: "${text}" is not a whole number of at least ${least}`);
  }
  return count;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Plain numbers are milliseconds, as in the hub's flags. */
function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(text.trim());
  const unit = match ? (match[2] === '' ? 1 : DURATION_UNITS[match[2]!.toLowerCase()]) : undefined;
  if (!match || unit === undefined) {
    throw new BrokerConfigError(
      `${what}: "${text}" is not a duration; write e.g. 500ms, 30s, 5m, 1h or 7d`,
    );
  }
  return Math.round(Number(match[1]) * unit);
}
