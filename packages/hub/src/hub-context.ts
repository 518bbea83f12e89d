import type { Context } from '@opentelemetry/api';
import type { EventStreamOptions } from '@tidings/server';
import type { Authenticator } from './auth/index.js';
import type { Broker } from './broker/broker.js';
import type { Presence } from './broker/presence.js';
import type { ConnectionLimiter } from './connection-limiter.js';
import type { ExpiryScheduler } from './expiry-scheduler.js';
import type { FanOut } from './fan-out.js';
import type { CorsPolicy } from './http/cors.js';
import type { ResolvedHubOptions } from './hub-options.js';
import type { Logger } from './logger.js';
import type { HubMetrics } from './metrics.js';
import type { PublishRequest } from './protocol/draft-07.js';
import type { SharedCompilations } from './shared-compilations.js';
import type { Subscriber } from './subscriber.js';
import type { HubTracing } from './tracing/hub-tracing.js';
import type { StoredUpdate, Update } from './update.js';

/** What the route handlers share: the hub's parts, without the hub's lifecycle. */
export interface HubContext {
  readonly options: ResolvedHubOptions;
  readonly broker: Broker;
  /**
   * Who is subscribed on every node sharing the broker; set only when the subscriptions API
   * is on. Registered subscribers are added, leaving ones removed.
   */
  readonly presence: Presence | undefined;
  readonly auth: Authenticator;
  /** Delivery to this node's subscribers: the index, held updates, the join of replay and live. */
  readonly fanOut: FanOut;
  readonly limiter: ConnectionLimiter;
  readonly expiry: ExpiryScheduler;
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  readonly cors: CorsPolicy;
  /** Compiled selector sets and grants shared between subscribers asking for the same. */
  readonly compilations: SharedCompilations;
  /** Spans of the publish path (no-ops until an OpenTelemetry SDK is registered). */
  readonly tracing: HubTracing;
  /** True once shutdown began: new streams are refused. */
  readonly closing: boolean;
  /**
   * Hands a checked publish request to the broker, with a generated id when it has none,
   * and counts it: what a publish request and `Hub.publish` share once their checks passed.
   * `parent`: the trace context of the publish request.
   */
  publish(update: PublishRequest, parent?: Context): Promise<StoredUpdate>;
  /** Publishes an update the hub makes itself (subscription events): no auth, no reserved-topic rule. */
  publishOwn(update: Update): Promise<StoredUpdate>;
  /** Options shared by every subscriber stream (one validated config for all). */
  readonly streamOptions: EventStreamOptions;
  /** Adds a subscriber to the fan-out, its live updates held until `fanOut.release`. */
  register(subscriber: Subscriber): void;
  /**
   * Removes a subscriber and gives back its connection slot; safe to call more than once,
   * at any stage (before or after registration).
   */
  unregister(subscriber: Subscriber): void;
}
