import { createLogger } from '@tidings/hub';
import { describeBrokerConformance } from '@tidings/hub/broker-conformance';
import { RedisBroker } from '@tidings/redis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';

const context = () => ({ logger: createLogger({ level: 'silent' }), registry: new Registry() });

describe.skipIf(!redisServerBinary)('the Redis broker on a real redis-server', () => {
  let server: RedisServer;
  let keys = 0;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  // Each broker gets a key of its own: an empty log, as the suite asks; a peer shares it.
  const keyOf = new WeakMap<RedisBroker, string>();
  const open = (key: string): RedisBroker => {
    const broker = RedisBroker.fromUrl(new URL(server.url(`?key=${key}&timeout=500`)), context());
    keyOf.set(broker, key);
    return broker;
  };

  describeBrokerConformance('redis', {
    create: async () => open(`conformance-${++keys}`),
    createPeer: async (broker) => open(keyOf.get(broker as RedisBroker)!),
    loseData: async () => server.flush(),
    makeUnavailable: async () => {
      await server.kill();
      return () => server.restart();
    },
    timeoutMs: 8000,
  });
});
