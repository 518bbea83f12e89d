import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeEventBytes } from '@tidings/protocol';
import { EventStream } from '@tidings/server';
import type { LatencySummary } from '../admin/latency-window.js';
import type { HubMetrics } from '../metrics.js';

/** What the dashboard shows, sent as `event: stats` once per second. */
export interface HubStats {
  connections: number;
  subscriptions: number;
  published: number;
  delivered: number;
  /** Updates fanned out in the last second (published on any node sharing the broker). */
  eventsPerSecond: number;
  uptimeSeconds: number;
  /** Publish-to-write latency over the last ten seconds on this node. */
  latency: LatencySummary;
}

/**
 * `GET /stats`: live counters for the dashboard, over SSE itself. One timer for all viewers,
 * running only while someone watches; each tick encodes the numbers once for everyone.
 */
export class StatsFeed {
  readonly #metrics: HubMetrics;
  readonly #streams = new Set<EventStream>();
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #lastDispatched = 0;
  #lastTick = 0;
  #eventsPerSecond = 0;

  constructor(metrics: HubMetrics) {
    this.#metrics = metrics;
  }

  get size(): number {
    return this.#streams.size;
  }

  open(
    request: IncomingMessage,
    response: ServerResponse,
    headers: Record<string, string>,
    heartbeatMs: number,
  ): EventStream {
    const stream = EventStream.fromNode(request, response, {
      headers,
      heartbeatMs: heartbeatMs === 0 ? false : heartbeatMs,
      lastEventIdParam: false,
    });
    this.#streams.add(stream);
    stream.onClose(() => {
      this.#streams.delete(stream);
      if (this.#streams.size === 0) this.#stop();
    });
    if (this.#timer === undefined) this.#start();
    // The first numbers at once, not a second later.
    stream.send({ event: 'stats', data: JSON.stringify(this.snapshot()) });
    return stream;
  }

  snapshot(): HubStats {
    const m = this.#metrics;
    return {
      connections: m.connections,
      subscriptions: m.subscriptions,
      published: m.published,
      delivered: m.delivered,
      eventsPerSecond: this.#eventsPerSecond,
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      latency: m.recentPublishToWrite.summary(),
    };
  }

  /** Shutdown: every viewer is told when to come back, and closed. Returns how many. */
  closeAll(retry: () => number): number {
    this.#stop();
    const streams = [...this.#streams];
    for (const stream of streams) {
      stream.send({ retry: retry() });
      stream.close();
    }
    return streams.length;
  }

  #start(): void {
    this.#lastDispatched = this.#metrics.dispatched;
    this.#lastTick = Date.now();
    this.#timer = setInterval(this.#tick, 1000);
    this.#timer.unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick = (): void => {
    const now = Date.now();
    const dispatched = this.#metrics.dispatched;
    const seconds = Math.max((now - this.#lastTick) / 1000, 0.001);
    this.#eventsPerSecond = Math.round((dispatched - this.#lastDispatched) / seconds);
    this.#lastDispatched = dispatched;
    this.#lastTick = now;
    const chunk = encodeEventBytes({ event: 'stats', data: JSON.stringify(this.snapshot()) });
    for (const stream of this.#streams) stream.sendEncoded(chunk);
  };
}
