import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { LatencyWindow } from './admin/latency-window.js';

/**
 * The hub's counters, kept as plain numbers on the hot path (one addition per delivery,
 * no label hashing) and read by prom-client only when `/metrics` is scraped. The same
 * numbers feed the dashboard's `/stats` stream.
 */
export class HubMetrics {
  readonly registry = new Registry();
  /** Subscriber streams open now (the dashboard's own `/stats` streams not included). */
  connections = 0;
  /** Topic selectors across open subscriber streams. */
  subscriptions = 0;
  published = 0;
  /** Updates this node received from its broker and fanned out (published on any node). */
  dispatched = 0;
  delivered = 0;
  replayed = 0;
  slowConsumersDropped = 0;
  readonly publishToWrite: Histogram;
  /** The same latency over the last ten seconds only, for the dashboard's graph. */
  readonly recentPublishToWrite = new LatencyWindow();
  readonly requests: Counter<'route' | 'status'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: 'tidings_connections',
      help: 'Subscriber streams open now',
      registers,
      collect() {
        this.set(self.connections);
      },
    });
    new Gauge({
      name: 'tidings_subscriptions',
      help: 'Topic selectors across the open subscriber streams',
      registers,
      collect() {
        this.set(self.subscriptions);
      },
    });
    this.#counter(
      'tidings_updates_published_total',
      'Updates accepted from publishers on this node',
      () => this.published,
    );
    this.#counter(
      'tidings_updates_dispatched_total',
      'Updates fanned out by this node (published on any node sharing the broker)',
      () => this.dispatched,
    );
    this.#counter(
      'tidings_deliveries_total',
      'Events handed to subscriber streams, replays included',
      () => this.delivered,
    );
    this.#counter(
      'tidings_updates_replayed_total',
      'Events sent from history to reconnecting subscribers',
      () => this.replayed,
    );
    this.#counter(
      'tidings_slow_consumers_dropped_total',
      'Subscriber streams closed because they fell too far behind (they reconnect and replay)',
      () => this.slowConsumersDropped,
    );
    this.publishToWrite = new Histogram({
      name: 'tidings_publish_to_write_seconds',
      help: 'Time from an update being accepted to its bytes being handed to every matching subscriber stream on this node',
      buckets: [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
      ],
      registers,
    });
    this.requests = new Counter({
      name: 'tidings_http_requests_total',
      help: 'HTTP requests answered, by route and status (rejections included)',
      labelNames: ['route', 'status'],
      registers,
    });
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'tidings_' });
    }
  }

  #counter(name: string, help: string, read: () => number): void {
    let reported = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const value = read();
        this.inc(value - reported);
        reported = value;
      },
    });
  }
}
