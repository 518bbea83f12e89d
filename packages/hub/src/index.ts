// Auth and topic selectors in full: embedders and tests use the same building blocks.
export * from './auth/index.js';
export {
  type Broker,
  BrokerConfigError,
  type BrokerContext,
  type BrokerFactory,
  type BrokerFeed,
  type BrokerHealth,
  BrokerUnavailableError,
  brokerSchemes,
  createBroker,
  type FeedGap,
  isAtOrBefore,
  type LogHead,
  type LogPosition,
  type ReplayFrom,
  type ReplayOptions,
  type ReplayOutcome,
  type ReplayPage,
  registerBroker,
} from './broker/broker.js';
export { MEMORY_DEFAULTS, MemoryBroker, type MemoryBrokerOptions } from './broker/memory-broker.js';
export {
  MemoryPresence,
  type Presence,
  type PresenceListener,
  type PresenceMatcher,
  type PresenceRecord,
} from './broker/presence.js';
export { redactedTransport } from './broker/redacted-transport.js';
export * from './dashboard/index.js';
export { createUpdateId } from './event-id.js';
export { HttpError } from './http/http-error.js';
export { HubListener, type ListenSecurity } from './http/listeners.js';
export {
  loadTlsCredentials,
  type TlsCredentials,
  TlsCredentialsError,
} from './http/tls-credentials.js';
export { Hub, type PublishInput } from './hub.js';
export { HUB_DEFAULTS, type HubOptions } from './hub-options.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { HubMetrics } from './metrics.js';
export { EARLIEST, HUB_PATH, SUBSCRIPTIONS_PATH, subscriptionTopic } from './protocol/draft-07.js';
export { DEV_TOKEN_PATH, METRICS_PATH, STATS_PATH } from './routes/admin-routes.js';
export { HEALTH_PATHS } from './routes/health.js';
export type { HubStats } from './routes/stats-feed.js';
export * from './topic-selector.js';
export { encodeUpdate, type StoredUpdate, type Update } from './update.js';
export {
  compileUrlPattern,
  MAX_URL_PATTERN_LENGTH,
  type UrlPatternMatcher,
  UrlPatternSyntaxError,
} from './url-pattern-matcher.js';
