import { BrokerUnavailableError } from '@tidings/hub';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisSentinelConnection } from './redis-transport-options.js';

/** Reconnection backoff: 50 ms, doubling, at most this, ms. */
export const MAX_RECONNECT_DELAY_MS = 500;

/**
 * How every connection of this package behaves: it connects when asked, fails a command at
 * once while Redis is unreachable and reconnects on its own. `name` shows in `CLIENT LIST`,
 * so operators tell the connections apart.
 */
export function connectionOptions(name: string, commandTimeout: number): RedisOptions {
  return {
    lazyConnect: true,
    // A command while Redis is unreachable fails at once instead of waiting in a queue: the
    // publisher gets its 503 now, and nothing is sent twice after a reconnection.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
    connectTimeout: Math.max(commandTimeout, 1000),
    retryStrategy: (attempt) => Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** attempt),
    // A primary demoted to a replica (a failover) refuses writes with READONLY while the
    // connection stays up: reconnect, which finds the new primary (through the Sentinels, or
    // behind a managed endpoint). The command that met READONLY fails (503, nothing kept)
    // rather than being sent twice.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 1 : false),
    connectionName: name,
  };
}

/**
 * A connection to the Redis a transport URL names: a `redis://` URL as it is, or the primary
 * that the Sentinels of a `redis+sentinel://` URL name. Not connected yet (`lazyConnect`).
 */
export function createConnection(
  where: string | RedisSentinelConnection,
  options: RedisOptions,
): Redis {
  if (typeof where === 'string') return new Redis(where, options);
  let connectedOnce = false;
  const connection = new Redis({
    ...options,
    // ioredis asks the Sentinels for the master's address at every (re)connection and checks
    // that the server it reached says it is the master (`role`), so after a failover it lands
    // on the new primary.
    sentinels: where.sentinels.map(({ host, port }) => ({ host, port })),
    name: where.name,
    role: 'master',
    username: where.username,
    password: where.password,
    db: where.db,
    sentinelUsername: where.sentinelUsername,
    sentinelPassword: where.sentinelPassword,
    sentinelCommandTimeout: options.commandTimeout,
    // When every Sentinel fails: before the first connection, fail (the hub stops with the
    // reason); later keep asking, since giving up would end the connection for good. A
    // caller with no start to fail (the resumable store) passes its own.
    sentinelRetryStrategy:
      options.sentinelRetryStrategy ??
      ((attempt) => (connectedOnce ? Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** attempt) : null)),
    ...(where.tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
  });
  connection.once('ready', () => {
    connectedOnce = true;
  });
  return connection;
}

/**
 * Where a connection goes, for messages, without credentials: `host:port`, or
 * `master <name> via Sentinel host:port, …`.
 */
export function addressOf(where: string | RedisSentinelConnection): string {
  if (typeof where === 'string') return new URL(where).host;
  const sentinels = where.sentinels.map(({ host, port }) =>
    host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
  );
  return `master ${where.name} via Sentinel ${sentinels.join(', ')}`;
}

/** Connects, or fails with the reason the last attempt gave (e.g. ECONNREFUSED). */
export async function openConnection(connection: Redis, address: string): Promise<void> {
  let reason: Error | undefined;
  let sentinelKnowsNoMaster = false;
  const remember = (error: Error): void => {
    reason = error;
  };
  // A Sentinel that answers `null` for the master name (before Redis 7: an error since) was
  // reached, but knows no such master.
  const rememberSentinel = (error: Error): void => {
    if (/invalid reply: null$/.test(error.message)) sentinelKnowsNoMaster = true;
  };
  connection.on('error', remember);
  connection.on('sentinelError', rememberSentinel);
  try {
    await connection.connect();
  } catch (error) {
    // ioredis's "All sentinels are unreachable and retry is disabled" speaks of its options.
    const message = (reason ?? (error as Error)).message.replace(
      /^All sentinels are unreachable and retry is disabled\.(?: Last error: (.*))?$/s,
      (_, last?: string) =>
        sentinelKnowsNoMaster || /no such master/i.test(last ?? '')
          ? 'the Sentinels know no master of that name (see "sentinel monitor" in their configuration)'
          : `no Sentinel answered${last ? ` (the last said: ${last})` : ''}`,
    );
    throw new BrokerUnavailableError(`cannot reach Redis at ${address}: ${message}`);
  } finally {
    connection.off('error', remember);
    connection.off('sentinelError', rememberSentinel);
  }
}
