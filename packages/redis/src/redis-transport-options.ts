import { BrokerConfigError, redactedTransport as redacted } from '@tidings/hub';

/** Where a Sentinel-managed primary is found: what a `redis+sentinel://` URL names. */
export interface RedisSentinelConnection {
  /** The Sentinels to ask, in order; any one that answers is enough. */
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The master name the Sentinels monitor (`sentinel monitor <name> …`). */
  readonly name: string;
  /** Credentials of the Redis data nodes (primary and replicas). */
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  /** Credentials of the Sentinels themselves (`requirepass` in sentinel.conf). */
  readonly sentinelUsername: string | undefined;
  readonly sentinelPassword: string | undefined;
  /** TLS to both the Sentinels and the data nodes (`rediss+sentinel://`). */
  readonly tls: boolean;
}

/** What a `redis://`, `rediss://`, `redis+sentinel://` or `rediss+sentinel://` URL says, after validation. */
export interface RedisTransportOptions {
  /**
   * The connection URL handed to ioredis (scheme, credentials, host, port and database only),
   * or, for a Sentinel URL, the Sentinels and the master name to ask them for.
   */
  readonly connection: string | RedisSentinelConnection;
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
const SENTINEL_PARAMETERS = `${PARAMETERS.replace(' and ', ', ')}, sentinel_username and sentinel_password`;

/** The port Sentinels listen on unless told otherwise. */
export const SENTINEL_DEFAULT_PORT = 26379;

/** The schemes this package reads, as `registerBroker` takes them. */
export const REDIS_SCHEMES = ['redis', 'rediss', 'redis+sentinel', 'rediss+sentinel'] as const;

/**
 * Reads `redis://[user:pass@]host:port[/db][?key=tidings&max_events=10000&max_age=24h&wait=1&wait_timeout=1s&timeout=2s&presence_heartbeat=5s&presence_ttl=15s]`
 * (`rediss://` for TLS), or a Sentinel URL (see {@link parseSentinelTransport}). `transport` is
 * the URL as written, which a Sentinel URL with several hosts needs: `URL` holds only one.
 *
 * @throws BrokerConfigError naming the parameter and the accepted forms.
 */
export function parseRedisTransport(url: URL, transport = url.href): RedisTransportOptions {
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const shown = redacted(transport);
  // A `/` in the user information would make the rest of the password read as a host or a
  // path, and be shown in messages as one.
  const beforeQuery = transport.slice(transport.indexOf('://') + 3).split(/[?#]/, 1)[0]!;
  if (beforeQuery.slice(0, Math.max(0, beforeQuery.lastIndexOf('@'))).includes('/')) {
    throw new BrokerConfigError(
      `transport "${shown}": the user name or password holds a "/": percent-encode it as %2F`,
    );
  }
  if (scheme === 'redis+sentinel' || scheme === 'rediss+sentinel') {
    return parseSentinelTransport(url, transport, scheme);
  }
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new BrokerConfigError(
      `transport "${shown}" is not a redis://, rediss://, redis+sentinel:// or rediss+sentinel:// URL`,
    );
  }
  if (url.hostname === '') {
    throw new BrokerConfigError(
      `transport "${shown}" names no host: write e.g. ${scheme}://127.0.0.1:6379`,
    );
  }
  const database = url.pathname.replace(/^\//, '');
  if (database !== '' && !/^\d+$/.test(database)) {
    throw new BrokerConfigError(
      `transport "${shown}": the path must be a database number (e.g. /0), got "/${database}"`,
    );
  }
  const options: Writable<RedisTransportOptions> = {
    ...REDIS_DEFAULTS,
    connection: `${scheme}://${url.username || url.password ? `${url.username}:${url.password}@` : ''}${url.host}${database === '' ? '' : `/${database}`}`,
  };
  readParameters(url, scheme, options, shown);
  return options;
}

/**
 * Reads a transport URL given as text, as {@link parseRedisTransport} does; a Sentinel URL's
 * host list is read from the text, since `URL` holds only one host.
 *
 * @throws BrokerConfigError
 */
export function parseRedisTransportText(transport: string): RedisTransportOptions {
  // A Sentinel URL's hosts are read from the text by parseSentinelTransport; URL gets a
  // stand-in so that it reads the rest (a bad port is then reported by name, not as "not a URL").
  const sentinel = /^rediss?\+sentinel:/i.test(transport);
  const readable = transport.replace(
    /^([^:/?#]+:\/\/(?:[^/?#@]*@)?)([^/?#]*)/,
    (_, start: string, hosts: string) =>
      `${start}${sentinel ? (hosts === '' ? '' : 'sentinel') : hosts}`,
  );
  let url: URL;
  try {
    url = new URL(readable);
  } catch {
    throw new BrokerConfigError(`"${redacted(transport)}" is not a URL`);
  }
  return parseRedisTransport(url, transport);
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Reads `redis+sentinel://[user:pass@]host1[:26379][,host2[:26379]…]/<master name>[/db][?…]`
 * (`rediss+sentinel://` for TLS to the Sentinels and the data nodes): the form of
 * Redis-Sentinel-Url, RedisVL and Prefect. The user and password are the data nodes';
 * `sentinel_username` and `sentinel_password` are the Sentinels'.
 */
function parseSentinelTransport(
  url: URL,
  transport: string,
  scheme: string,
): RedisTransportOptions {
  const shown = redacted(transport);
  const example = `${scheme}://sentinel-1:26379,sentinel-2:26379/mymaster`;
  const authority = /^[^:]+:\/\/(?:([^/?#@]*)@)?([^/?#]*)/.exec(transport)?.[2] ?? '';
  if (authority === '') {
    throw new BrokerConfigError(`transport "${shown}" names no Sentinel: write e.g. ${example}`);
  }
  const sentinels = authority.split(',').map((address) => {
    const match = /^(\[[\da-f:.]+\]|[^:[\]]+)(?::(.*))?$/i.exec(address);
    if (!match) {
      throw new BrokerConfigError(
        `transport "${shown}": "${address}" is not a Sentinel address; write host:port, e.g. ${example}`,
      );
    }
    const port = match[2] === undefined ? SENTINEL_DEFAULT_PORT : Number(match[2]);
    if (!/^\d{1,5}$/.test(match[2] ?? '26379') || port < 1 || port > 65535) {
      throw new BrokerConfigError(
        `transport "${shown}": the Sentinel port in "${address}" must be a number from 1 to 65535`,
      );
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  const [name, database, ...rest] = url.pathname.replace(/^\//, '').split('/');
  if (!name) {
    throw new BrokerConfigError(
      `transport "${shown}" names no master: the path is the name the Sentinels monitor, e.g. ${example}`,
    );
  }
  if (rest.length > 0 || (database !== undefined && !/^\d+$/.test(database))) {
    throw new BrokerConfigError(
      `transport "${shown}": the path must be /<master name>[/<database number>], got "${url.pathname}"`,
    );
  }
  const options: Writable<RedisTransportOptions> = { ...REDIS_DEFAULTS, connection: '' };
  const connection: Writable<RedisSentinelConnection> = {
    sentinels,
    name: decoded(name, 'master name', shown),
    username: url.username === '' ? undefined : decoded(url.username, 'user name', shown),
    password: url.password === '' ? undefined : decoded(url.password, 'password', shown),
    db: database === undefined ? 0 : Number(database),
    sentinelUsername: undefined,
    sentinelPassword: undefined,
    tls: scheme === 'rediss+sentinel',
  };
  readParameters(url, scheme, options, shown, (name, value) => {
    if (name === 'sentinel_username') connection.sentinelUsername = value;
    else if (name === 'sentinel_password') connection.sentinelPassword = value;
    else return false;
    return true;
  });
  options.connection = connection;
  return options;
}

/** A percent-decoded part of the URL, or a one-line reason naming the part. */
function decoded(text: string, part: string, shown: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BrokerConfigError(
      `transport "${shown}": the ${part} holds a malformed %-escape; write each % as %25`,
    );
  }
}

/** The query parameters every Redis scheme takes; `extra` reads those only one scheme knows. */
function readParameters(
  url: URL,
  scheme: string,
  options: Writable<RedisTransportOptions>,
  shown = redacted(url.href),
  extra: (name: string, value: string) => boolean = () => false,
): void {
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
        if (extra(name, value)) break;
        throw new BrokerConfigError(
          `${what}: name the Sentinels in a Sentinel URL instead, e.g. redis+sentinel://sentinel-1:26379,sentinel-2:26379/mymaster`,
        );
      default:
        if (extra(name, value)) break;
        throw new BrokerConfigError(
          `unknown parameter "${name}" in transport URL "${shown}": ${scheme}:// takes ${scheme.endsWith('+sentinel') ? SENTINEL_PARAMETERS : PARAMETERS}`,
        );
    }
  }
  // One missed heartbeat (a reply lost, a loop stalled for a moment) must not make a live node
  // look dead: other nodes would announce its subscribers as gone while they are connected.
  if (options.presenceTtlMs < 2 * options.presenceHeartbeatMs) {
    throw new BrokerConfigError(
      `transport ${scheme}:// parameter presence_ttl: ${options.presenceTtlMs} ms must be at least twice presence_heartbeat (${options.presenceHeartbeatMs} ms), or one late heartbeat would get a live node taken for dead; three heartbeats is usual`,
    );
  }
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
