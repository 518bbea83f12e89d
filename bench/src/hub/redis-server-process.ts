import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { track } from '@tidings/hub/load';
import { Redis } from 'ioredis';
import { sleep } from '../load/report.js';

/** How the private redis-server keeps its data: none, or an append-only file synced every second. */
export type RedisPersistence = 'none' | 'aof-everysec';

export interface RedisServerProcess {
  readonly port: number;
  readonly pid: number;
  readonly url: string;
  /** An admin connection, for INFO and CONFIG RESETSTAT. */
  readonly admin: Redis;
  stop(): Promise<void>;
}

/**
 * A redis-server of the benchmark's own on a free port (never the shared one on 6379), with
 * no RDB snapshots; `aof-everysec` adds the append-only file synced once a second, as Redis
 * is commonly run.
 */
export async function startRedisServer(
  persistence: RedisPersistence = 'aof-everysec',
): Promise<RedisServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-redis-'));
  const aof =
    persistence === 'none'
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'everysec'];
  const child = track(
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...aof],
      { stdio: 'ignore' },
    ),
  );
  const stopChild = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 20 });
  admin.on('error', () => {});
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await admin.connect();
        await admin.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`redis-server on port ${port} did not start: ${error}`);
        admin.disconnect();
        await sleep(20);
      }
    }
  } catch (error) {
    admin.disconnect();
    await stopChild();
    throw error;
  }
  return {
    port,
    pid: child.pid!,
    url: `redis://127.0.0.1:${port}`,
    admin,
    stop: async () => {
      admin.disconnect();
      await stopChild();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
