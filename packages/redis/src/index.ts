/**
 * `@tidings/redis`: Redis Streams as the hub's shared log. Importing the package registers the
 * `redis://` and `rediss://` transport schemes with `@tidings/hub`, so
 * `tidings serve --transport redis://host:6379` works once it is installed.
 */
import { registerBroker } from '@tidings/hub';
import { RedisBroker } from './redis-broker.js';

export { RedisBroker } from './redis-broker.js';
export { RedisChannel, type RedisChannelOptions } from './redis-channel.js';
export { RedisPresence } from './redis-presence.js';
export {
  parseRedisTransport,
  REDIS_DEFAULTS,
  type RedisTransportOptions,
} from './redis-transport-options.js';

registerBroker('redis', (url, context) => RedisBroker.fromUrl(url, context));
registerBroker('rediss', (url, context) => RedisBroker.fromUrl(url, context));

export { RedisResumableStore, type RedisResumableStoreOptions } from './resumable-store.js';
