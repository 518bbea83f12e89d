import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The Redis broker's own series, in the hub's registry. A registry that has them already (a
 * second broker in one process) shares them.
 */
export class RedisBrokerMetrics {
  readonly publishes: Counter<'outcome'>;
  readonly publishSeconds: Histogram;
  readonly feedUpdates: Counter;
  readonly feedGaps: Counter;
  readonly errors: Counter;
  readonly up: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    const existing = <T>(name: string): T | undefined =>
      registry.getSingleMetric(name) as T | undefined;
    this.publishes =
      existing('tidings_redis_publishes_total') ??
      new Counter({
        name: 'tidings_redis_publishes_total',
        help: 'Updates appended to the Redis log, by outcome (kept; unreplicated: WAIT fell short)',
        labelNames: ['outcome'],
        registers,
      });
    this.publishSeconds =
      existing('tidings_redis_publish_seconds') ??
      new Histogram({
        name: 'tidings_redis_publish_seconds',
        help: 'Time from accepting an update to Redis keeping it (and replicas confirming it, with wait=N)',
        buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers,
      });
    this.feedUpdates =
      existing('tidings_redis_feed_updates_total') ??
      new Counter({
        name: 'tidings_redis_feed_updates_total',
        help: 'Updates this node read from the Redis log and handed to its fan-out',
        registers,
      });
    this.feedGaps =
      existing('tidings_redis_feed_gaps_total') ??
      new Counter({
        name: 'tidings_redis_feed_gaps_total',
        help: 'Times this node found updates it could not read (trimmed, or the log was reset)',
        registers,
      });
    this.errors =
      existing('tidings_redis_errors_total') ??
      new Counter({
        name: 'tidings_redis_errors_total',
        help: 'Redis commands that failed (unreachable, timed out, or refused)',
        registers,
      });
    this.up =
      existing('tidings_redis_feed_up') ??
      new Gauge({
        name: 'tidings_redis_feed_up',
        help: '1 while this node reads the Redis log, 0 while Redis is unreachable',
        registers,
      });
    this.up.set(1);
  }
}
