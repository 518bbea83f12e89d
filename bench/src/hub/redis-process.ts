import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { track } from '@tidings/hub/load';
import { sleep } from '../load/report.js';
import type { SystemUnderTest } from '../load/system-under-test.js';
import { startHub } from './hub-process.js';

/**
 * The hub on `--transport redis://…`: a redis-server of its own on a free port (append-only
 * file, fsync every second, as Redis is commonly run), and one `tidings serve` on it. Stopping
 * the system stops both.
 */
export async function startRedisHub(
  execArgv: string[] = [],
  hubArgs: string[] = [],
): Promise<SystemUnderTest> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-redis-'));
  const redis = track(
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
      ],
      { stdio: 'ignore' },
    ),
  );
  const stopRedis = async () => {
    if (redis.exitCode === null && redis.signalCode === null) {
      const exited = once(redis, 'exit');
      redis.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(port);
    const hub = await startHub(['--transport', `redis://127.0.0.1:${port}`, ...hubArgs], execArgv);
    return {
      ...hub,
      name: '@tidings/hub (redis://)',
      stop: async () => {
        await hub.stop();
        await stopRedis();
      },
    };
  } catch (error) {
    await stopRedis();
    throw error;
  }
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('error', () => resolve(false));
      socket.on('data', (data) => {
        resolve(data.toString().startsWith('+PONG'));
        socket.destroy();
      });
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    });
    if (pong) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await sleep(20);
  }
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
