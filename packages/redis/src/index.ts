/**
 * `@tidings/redis`: Redis Streams as the hub's shared log. Importing the package registers the
 * `redis://`, `rediss://`, `redis+sentinel://` and `rediss+sentinel://` transport schemes with
 * `@tidings/hub`, so `tidings serve --transport redis://host:6379` works once it is installed.
 */
import { registerBroker } from '@tidings/hub';
import { RedisBroker } from './redis-broker.js';
import { REDIS_SCHEMES } from './redis-transport-options.js';

export { RedisBroker } from './redis-broker.js';
export { RedisChannel, type RedisChannelOptions } from './redis-channel.js';
export { RedisPresence } from './redis-presence.js';
export {
  parseRedisTransport,
  parseRedisTransportText,
  REDIS_DEFAULTS,
  REDIS_SCHEMES,
  type RedisSentinelConnection,
  type RedisTransportOptions,
  SENTINEL_DEFAULT_PORT,
} from './redis-transport-options.js';

for (const scheme of REDIS_SCHEMES) {
  registerBroker(scheme, (url, context, transport) => RedisBroker.fromUrl(url, context, transport));
}

export { RedisResumableStore, type RedisResumableStoreOptions } from './resumable-store.js';
