import { BrokerUnavailableError } from '@tidings/hub';
import type { Redis, RedisOptions } from 'ioredis';

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
    connectionName: name,
  };
}

/** Connects, or fails with the reason the last attempt gave (e.g. ECONNREFUSED). */
export async function openConnection(connection: Redis, address: string): Promise<void> {
  let reason: Error | undefined;
  const remember = (error: Error): void => {
    reason = error;
  };
  connection.on('error', remember);
  try {
    await connection.connect();
  } catch (error) {
    throw new BrokerUnavailableError(
      `cannot reach Redis at ${address}: ${(reason ?? (error as Error)).message}`,
    );
  } finally {
    connection.off('error', remember);
  }
}
