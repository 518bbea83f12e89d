import {
  type BrokerFeed,
  createLogger,
  encodeUpdate,
  type FeedGap,
  type Logger,
  type LogPosition,
  type StoredUpdate,
  type Update,
} from '@tidings/hub';
import { encodeEventBytes } from '@tidings/protocol';
import {
  createEventId,
  type EventMap,
  type EventStream,
  HISTORY_GAP_EVENT,
  type SendOptions,
} from '@tidings/server';
import { Registry } from 'prom-client';
import { RedisBroker } from './redis-broker.js';
import { parseRedisTransportText } from './redis-transport-options.js';

// biome-ignore lint/suspicious/noExplicitAny: a channel only moves encoded bytes; any stream's map fits
type AnyEventStream = EventStream<any>;

export interface RedisChannelOptions {
  /**
   * `redis://[user:pass@]host:port[/db][?max_events=10000&max_age=24h&...]`, as for the hub
   * (see `docs/redis.md`); `key` defaults to `tidings:channel:<name>`.
   */
  url: string;
  /** Names the channel: every instance that opens the same name on the same Redis shares it. */
  name: string;
  /** Turns non-string `data` into text. Default `JSON.stringify`. */
  serialize?: (data: unknown) => string;
  /** Ids for events published without one. Default `createEventId` of `@tidings/server`. */
  createId?: () => string;
  /** Name of the event that tells a client events were lost. Default `tidings:history-gap`. */
  historyGapEvent?: string;
  /** Where the channel says that Redis went away or came back. Default: silent. */
  logger?: Logger;
  /** A prom-client registry for the `tidings_redis_*` series. Default: a private one. */
  registry?: Registry;
}

/** The most events one replay page reads from Redis. */
const PAGE = 500;

interface Subscription {
  readonly stream: AnyEventStream;
  /** Live events that arrived while the replay was under way; `undefined` once live. */
  held: StoredUpdate[] | undefined;
  /** Where the replay ended: live events at or before it were replayed already. */
  upTo: LogPosition | undefined;
  /** The last id this subscriber got (or resumed from): what a gap notice names. */
  cursorId: string;
  readonly removeCloseListener: () => void;
}

/**
 * A broadcast channel shared by every instance of an app through Redis: the `Channel` of
 * `@tidings/server` for apps that run several processes behind a load balancer.
 *
 * An event published on any instance is kept in one Redis stream and reaches every
 * subscriber of every instance once, in one order; a client that reconnects to ANY instance
 * with `Last-Event-ID` gets what it missed from the shared history, then goes live, with no
 * gap and no duplicate. What differs from `Channel`: `publish` is asynchronous (it resolves
 * once Redis kept the event), and there are no per-publish targets or filters (a stream of
 * one instance cannot be named on another).
 *
 * @example
 * const channel = await RedisChannel.open({ url: 'redis://127.0.0.1:6379', name: 'news' });
 * app.get('/events', (req, res) => channel.subscribe(EventStream.fromNode(req, res)));
 * await channel.publish({ event: 'headline', data: { title: 'Hello' } });
 */
export class RedisChannel<E extends EventMap = Record<string, unknown>> {
  readonly #broker: RedisBroker;
  readonly #subscriptions = new Map<AnyEventStream, Subscription>();
  readonly #serialize: (data: unknown) => string;
  readonly #createId: () => string;
  readonly #gapEvent: string;
  readonly #topic: string;
  #closed = false;

  private constructor(broker: RedisBroker, options: RedisChannelOptions) {
    this.#broker = broker;
    this.#topic = options.name;
    this.#serialize = options.serialize ?? JSON.stringify;
    this.#createId = options.createId ?? createEventId;
    this.#gapEvent = options.historyGapEvent ?? HISTORY_GAP_EVENT;
    // Validates the name now rather than at the first gap.
    encodeEventBytes({ event: this.#gapEvent });
  }

  /**
   * Connects to Redis and starts following the channel.
   *
   * @throws BrokerConfigError for a malformed URL; BrokerUnavailableError when Redis cannot
   *   be reached.
   */
  static async open<E extends EventMap = Record<string, unknown>>(
    options: RedisChannelOptions,
  ): Promise<RedisChannel<E>> {
    // Text, not URL: a Sentinel URL's host list (`a:26379,b:26379`) is more than URL holds.
    const transport = /[?&]key=/.test(options.url)
      ? options.url
      : `${options.url}${options.url.includes('?') ? '&' : '?'}key=${encodeURIComponent(`tidings:channel:${options.name}`)}`;
    const broker = new RedisBroker(parseRedisTransportText(transport), {
      logger: options.logger ?? createLogger({ level: 'silent' }),
      registry: options.registry ?? new Registry(),
    });
    const channel = new RedisChannel<E>(broker, options);
    await broker.start(channel.#feed);
    return channel;
  }

  /** Number of streams subscribed on this instance. */
  get size(): number {
    return this.#subscriptions.size;
  }

  /**
   * Keeps an event in the shared history and sends it to every subscriber of every instance.
   * Resolves with its id once Redis kept it.
   *
   * @throws TypeError when the event is invalid (CR/LF/NUL in `event` or `id`, an empty id,
   *   unserializable data): nothing is sent or kept. Rejects with BrokerUnavailableError when
   *   Redis did not take it, and Error when the channel is closed.
   */
  async publish<K extends keyof E & string>(message: SendOptions<E, K>): Promise<{ id: string }> {
    if (this.#closed) throw new Error('RedisChannel.publish: the channel is closed');
    const id = message.id ?? this.#createId();
    if (id === '') {
      throw new TypeError(
        'RedisChannel.publish: "id" must not be empty: every event of a channel needs an id to resume from',
      );
    }
    const { data, event, retry } = message as SendOptions<EventMap, string>;
    const text = typeof data === 'string' ? data : data === undefined ? '' : this.#serialize(data);
    if (typeof text !== 'string') {
      throw new TypeError(
        `RedisChannel.publish: event data of type ${typeof data} could not be serialized; send a string or a JSON-serializable value`,
      );
    }
    const update: Update = {
      topics: [this.#topic],
      data: text,
      private: false,
      id,
      type: event,
      retry,
    };
    // Encoding validates every field: a bad event is refused before Redis sees it.
    encodeUpdate(update);
    await this.#broker.publish(update);
    return { id };
  }

  /**
   * Adds a stream: it replays from `lastEventId` (by default the one its client sent) out of
   * the shared history, then gets events as they are published on any instance. It leaves
   * when it closes, or on `unsubscribe`.
   *
   * @throws Error when the stream is already subscribed or the channel is closed.
   */
  async subscribe(stream: AnyEventStream, options: { lastEventId?: string } = {}): Promise<void> {
    if (this.#closed) throw new Error('RedisChannel.subscribe: the channel is closed');
    if (this.#subscriptions.has(stream)) {
      throw new Error('RedisChannel.subscribe: this stream is already subscribed to the channel');
    }
    if (stream.closed) return;
    const lastEventId = options.lastEventId ?? stream.lastEventId;
    const subscription: Subscription = {
      stream,
      held: lastEventId === '' ? undefined : [],
      upTo: undefined,
      cursorId: lastEventId,
      removeCloseListener: stream.onClose(() => this.unsubscribe(stream)),
    };
    this.#subscriptions.set(stream, subscription);
    if (subscription.held === undefined) return;
    try {
      await this.#replay(subscription, lastEventId);
    } catch (error) {
      this.unsubscribe(stream);
      throw error;
    }
  }

  /** Removes a stream on this instance (it stays open). */
  unsubscribe(stream: AnyEventStream): void {
    const subscription = this.#subscriptions.get(stream);
    if (subscription === undefined) return;
    this.#subscriptions.delete(stream);
    subscription.removeCloseListener();
  }

  /**
   * Unsubscribes this instance's streams and disconnects from Redis; the shared history stays
   * for the other instances. The streams stay open unless `closeStreams` is set.
   */
  async close(options: { closeStreams?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscriptions = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    for (const subscription of subscriptions) {
      subscription.removeCloseListener();
      if (options.closeStreams) subscription.stream.close();
    }
    await this.#broker.close();
  }

  /**
   * The join: live events are held from the moment of subscribing; the replay reads the
   * history up to the head taken after that, then the held events after it go out, then live.
   */
  async #replay(subscription: Subscription, lastEventId: string): Promise<void> {
    const { stream } = subscription;
    const upTo = await this.#broker.head();
    subscription.upTo = upTo;
    let page = await this.#broker.replay({ kind: 'id', id: lastEventId }, { upTo, limit: PAGE });
    if (page.outcome !== 'resumed') this.#sendGap(subscription);
    for (;;) {
      for (const stored of page.updates) {
        if (this.#subscriptions.get(stream) !== subscription) return;
        subscription.cursorId = stored.id;
        if (!stream.sendEncoded(stored.chunk)) {
          if (stream.closed) return;
          await stream.drained();
        }
      }
      if (page.next === undefined) break;
      page = await this.#broker.replay(
        { kind: 'position', position: page.next },
        { upTo, limit: PAGE },
      );
      if (page.outcome !== 'resumed') this.#sendGap(subscription);
    }
    const held = subscription.held ?? [];
    subscription.held = undefined;
    for (const stored of held) this.#deliver(subscription, stored);
  }

  readonly #feed: BrokerFeed = {
    update: (stored) => {
      for (const subscription of this.#subscriptions.values()) {
        if (subscription.held) subscription.held.push(stored);
        else this.#deliver(subscription, stored);
      }
    },
    // Events this instance could not read are lost to its subscribers: each is told.
    gap: (_gap: FeedGap) => {
      for (const subscription of this.#subscriptions.values()) this.#sendGap(subscription);
    },
    health: () => {},
  };

  #deliver(subscription: Subscription, stored: StoredUpdate): void {
    const upTo = subscription.upTo;
    // The replay had it already.
    if (upTo !== undefined && stored.epoch === upTo.epoch && stored.sequence <= upTo.sequence) {
      return;
    }
    subscription.cursorId = stored.id;
    subscription.stream.sendEncoded(stored.chunk);
  }

  #sendGap(subscription: Subscription): void {
    subscription.stream.sendEncoded(
      // No id, so the client's last event id stays where it was.
      encodeEventBytes({
        event: this.#gapEvent,
        data: JSON.stringify({ lastEventId: subscription.cursorId, earliestId: null }),
      }),
    );
  }
}
