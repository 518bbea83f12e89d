import type { EventStream } from '@tidings/server';
import type { BrokerFeed, BrokerHealth, FeedGap, LogPosition } from './broker/broker.js';
import type { Logger } from './logger.js';
import type { HubMetrics } from './metrics.js';
import type { Subscriber } from './subscriber.js';
import { SubscriberIndex } from './subscriber-index.js';
import { HubTracing } from './tracing/hub-tracing.js';
import type { StoredUpdate } from './update.js';
import { UpdateMatcher } from './update-matcher.js';

export interface FanOutOptions {
  /** Bytes a subscriber may fall behind (held during its replay, or queued) before it is dropped. */
  readonly maxQueueBytes: number;
  /** The `retry:` given to streams closed so they resume (after a feed gap), ms. */
  readonly resumeRetryMs: number;
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  /**
   * Where the `fan-out` span of each update starts and ends: the hub's, which knows the
   * updates it appended (a table of its own when absent, joining nothing).
   */
  readonly tracing?: HubTracing;
  /** Told when the broker's backend becomes unreachable or comes back. */
  readonly onHealth: (health: BrokerHealth) => void;
}

/** A gap the fan-out found itself: the feed moved to another epoch without saying so. */
const EPOCH_CHANGE = 'the broker log changed epoch (it lost updates it had kept)';

/**
 * The one owner of delivering updates to this node's subscribers: the topic index, the
 * updates held for subscribers still replaying, the join of replay and live, and the
 * slow-consumer drop.
 *
 * It is the broker's feed. Updates are fanned out strictly one after another, in feed order:
 * one that arrives while another is being fanned out — a subscription event published by a
 * dropped subscriber's close listener, an application publishing from a callback — waits in a
 * FIFO and goes next. Fan-out is never nested, so no delivery ever sees a half-done one.
 */
export class FanOut implements BrokerFeed {
  readonly index = new SubscriberIndex();
  readonly #matcher = new UpdateMatcher();
  readonly #options: FanOutOptions;
  readonly #metrics: HubMetrics;
  readonly #tracing: HubTracing;
  #queue: (StoredUpdate | FeedGap)[] = [];
  #running = false;
  /** The last position fanned out: a later update of another epoch means the log lost data. */
  #position: LogPosition | undefined;
  #latencyBatch: number[] = [];

  constructor(options: FanOutOptions) {
    this.#options = options;
    this.#metrics = options.metrics;
    this.#tracing = options.tracing ?? new HubTracing();
  }

  // ---- the feed ------------------------------------------------------------------------

  readonly update = (update: StoredUpdate): void => this.#enqueue(update);

  readonly gap = (gap: FeedGap): void => this.#enqueue(gap);

  readonly health = (health: BrokerHealth): void => this.#options.onHealth(health);

  #enqueue(item: StoredUpdate | FeedGap): void {
    this.#queue.push(item);
    if (this.#running) return;
    this.#running = true;
    const queue = this.#queue;
    // The length is read on every turn: items queued by a fan-out in progress go next.
    for (let i = 0; i < queue.length; i++) {
      const next = queue[i]!;
      try {
        if ('chunk' in next) this.#fanOut(next);
        else this.#resumeEveryone(next);
      } catch (error) {
        this.#options.logger.error({ err: error }, 'fan-out failed for one update');
      }
    }
    this.#queue = [];
    this.#running = false;
  }

  #fanOut(update: StoredUpdate): void {
    const position = this.#position;
    if (position !== undefined) {
      if (update.epoch === position.epoch) {
        // A feed that delivers an update twice (a retried read) must not deliver it twice.
        if (update.sequence <= position.sequence) return;
      } else {
        this.#resumeEveryone({ after: position, resumeAfter: update, reason: EPOCH_CHANGE });
      }
    }
    this.#position = update;
    const metrics = this.#metrics;
    metrics.dispatched++;
    const tracing = this.#tracing;
    const span = tracing.startFanOut(update);
    const deliveredBefore = metrics.delivered;
    try {
      this.#matcher.begin(update.topics);
      this.index.forEachRecipient(update, this.#matcher, this.#deliver);
    } catch (error) {
      tracing.endFanOut(span, metrics.delivered - deliveredBefore, error);
      throw error;
    }
    tracing.endFanOut(span, metrics.delivered - deliveredBefore);
    // Measured when the batched writes of this turn have gone to the sockets.
    if (this.#latencyBatch.push(update.acceptedAt) === 1) setImmediate(this.#observeLatency);
  }

  readonly #deliver = (subscriber: Subscriber, update: StoredUpdate): void => {
    const replayedUpTo = subscriber.replayedUpTo;
    if (replayedUpTo !== undefined) {
      // The feed still lags behind the replay this subscriber got: skip what it already has.
      if (update.epoch === replayedUpTo.epoch && update.sequence <= replayedUpTo.sequence) return;
      subscriber.replayedUpTo = undefined;
    }
    const held = subscriber.held;
    if (held !== undefined) {
      held.push(update);
      subscriber.heldBytes += update.chunk.length;
      if (subscriber.heldBytes > this.#options.maxQueueBytes) this.drop(subscriber);
      return;
    }
    this.#metrics.delivered++;
    subscriber.stream!.sendEncoded(update.chunk);
  };

  readonly #observeLatency = (): void => {
    const batch = this.#latencyBatch;
    this.#latencyBatch = [];
    const now = performance.timeOrigin + performance.now();
    const recent = this.#metrics.recentPublishToWrite;
    for (const acceptedAt of batch) {
      const seconds = (now - acceptedAt) / 1000;
      this.#metrics.publishToWrite.observe(seconds);
      recent.record(seconds, now);
    }
  };

  /**
   * The feed lost updates: every subscriber here may have missed some. Each is closed with a
   * short `retry:` so it comes back with its `Last-Event-ID`, and the `Last-Event-ID` it then
   * gets back says whether the log still had its place — told, never silently mis-joined.
   */
  #resumeEveryone(gap: FeedGap): void {
    this.#position = gap.resumeAfter;
    const subscribers = [...this.index.values()];
    this.#options.logger.warn(
      { after: gap.after, resumeAfter: gap.resumeAfter, subscribers: subscribers.length },
      `the broker feed lost updates (${gap.reason}): subscribers are told to resume`,
    );
    for (const subscriber of subscribers) this.disconnect(subscriber, this.#options.resumeRetryMs);
  }

  // ---- subscribers ---------------------------------------------------------------------

  /** Adds a subscriber; live updates for it are held from this instant until {@link release}. */
  hold(subscriber: Subscriber): void {
    subscriber.held = [];
    subscriber.heldBytes = 0;
    this.index.add(subscriber);
  }

  /**
   * Writes what was held for the subscriber while it replayed — only the updates after
   * `replayedUpTo`, the join point its replay stopped at — and then lets the fan-out write to
   * its stream directly. Honours backpressure; resolves once the subscriber is live (or gone).
   */
  async release(
    subscriber: Subscriber,
    stream: EventStream,
    replayedUpTo: LogPosition | undefined,
  ): Promise<void> {
    const metrics = this.#metrics;
    for (;;) {
      const held = subscriber.held;
      if (held === undefined || held.length === 0) break;
      subscriber.held = [];
      subscriber.heldBytes = 0;
      for (const update of held) {
        if (
          replayedUpTo !== undefined &&
          update.epoch === replayedUpTo.epoch &&
          update.sequence <= replayedUpTo.sequence
        ) {
          continue;
        }
        metrics.delivered++;
        if (!stream.sendEncoded(update.chunk)) await stream.drained();
        if (stream.closed) return;
      }
    }
    // Nothing is held and nothing awaited since the check above: from here the fan-out writes
    // to the stream directly. When the feed has not yet reached the join point, the updates
    // it still brings up to there were in the replay: the fan-out skips them for this one.
    const position = this.#position;
    if (
      replayedUpTo !== undefined &&
      (position === undefined ||
        (position.epoch === replayedUpTo.epoch && position.sequence < replayedUpTo.sequence))
    ) {
      subscriber.replayedUpTo = replayedUpTo;
    }
    subscriber.held = undefined;
  }

  /** Removes a subscriber (its stream closed). Safe to call more than once. */
  remove(subscriber: Subscriber): void {
    subscriber.held = undefined;
    this.index.delete(subscriber);
  }

  /**
   * A subscriber that fell more than `maxQueueBytes` behind while it was still replaying:
   * dropped like a slow consumer (it can resume with `Last-Event-ID`), before the held queue
   * grows further.
   */
  drop(subscriber: Subscriber): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    this.remove(subscriber);
    this.countSlowConsumer(subscriber);
    subscriber.stream?.close();
  }

  /** Closes a subscriber's stream with a `retry:` of about `retryMs`, so it comes back soon. */
  disconnect(subscriber: Subscriber, retryMs: number): void {
    subscriber.closed = true;
    const stream = subscriber.stream;
    if (stream === undefined) {
      // Still joining: the subscribe route sees `closed` and gives up.
      this.remove(subscriber);
      return;
    }
    // Spread the reconnections: half to one and a half times the delay.
    stream.send({ retry: Math.round(retryMs * (0.5 + Math.random())) });
    stream.close();
  }

  countSlowConsumer(subscriber: Subscriber): void {
    this.#metrics.slowConsumersDropped++;
    this.#options.logger.warn(
      { subscriber: subscriber.id, address: subscriber.address },
      'slow consumer disconnected: it fell more than maxQueueBytes behind (it can resume with Last-Event-ID)',
    );
  }
}
