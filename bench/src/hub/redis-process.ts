import type { SystemUnderTest } from '../load/system-under-test.js';
import { startHub } from './hub-process.js';
import { type RedisPersistence, startRedisServer } from './redis-server-process.js';

/**
 * The hub on `--transport redis://…`: a redis-server of its own on a free port (by default an
 * append-only file, fsync every second, as Redis is commonly run), and one `tidings serve` on
 * it. Stopping the system stops both.
 */
export async function startRedisHub(
  execArgv: string[] = [],
  hubArgs: string[] = [],
  persistence: RedisPersistence = 'aof-everysec',
): Promise<SystemUnderTest & { pid: number; redisPid: number }> {
  const redis = await startRedisServer(persistence);
  try {
    const hub = await startHub(['--transport', redis.url, ...hubArgs], execArgv);
    return {
      ...hub,
      name: '@tidings/hub (redis://)',
      redisPid: redis.pid,
      stop: async () => {
        await hub.stop();
        await redis.stop();
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}
