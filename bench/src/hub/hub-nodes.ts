import type { SystemUnderTest } from '../load/system-under-test.js';
import { startHub } from './hub-process.js';
import {
  type RedisPersistence,
  type RedisServerProcess,
  startRedisServer,
} from './redis-server-process.js';

/** One or more `tidings serve` processes, on memory:// or sharing one private redis-server. */
export interface HubNodes {
  readonly label: string;
  readonly nodes: (SystemUnderTest & { pid: number })[];
  readonly redis: RedisServerProcess | undefined;
  stop(): Promise<void>;
}

export type NodesTransport = 'memory' | RedisPersistence;

export async function startHubNodes(count: number, transport: NodesTransport): Promise<HubNodes> {
  const redis = transport === 'memory' ? undefined : await startRedisServer(transport);
  const nodes: HubNodes['nodes'] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  };
  try {
    for (let i = 0; i < count; i++)
      nodes.push(await startHub(redis ? ['--transport', redis.url] : []));
  } catch (error) {
    await stop();
    throw error;
  }
  const label =
    transport === 'memory'
      ? 'memory://'
      : `redis:// (${transport === 'none' ? 'appendonly no' : 'appendfsync everysec'})`;
  return { label: `${label}, ${count} node${count === 1 ? '' : 's'}`, nodes, redis, stop };
}
