import { encodeEventBytes } from '@tidings/protocol';
import { createEventId } from './event-id.js';
import { type EventMap, type SendOptions, toEventMessage } from './event-message.js';
import type { EventStream } from './event-stream.js';
import { History, type HistoryEntry, type HistoryOptions } from './history.js';

/**
 * A stream of any event map: a channel only moves encoded bytes, so the streams it serves may
 * be typed with any map (usually the channel's own).
 */
// biome-ignore lint/suspicious/noExplicitAny: a stream's map only types its own send(); any map fits here
type AnyEventStream = EventStream<any>;

export interface ChannelOptions {
  /** Bounds of the replay history, or `false` for none. Default: {@link History}'s defaults. */
  history?: HistoryOptions | false;
  /** Turns non-string `data` into text. Default `JSON.stringify`. */
  serialize?: (data: unknown) => string;
  /** Ids for events published without one. Default {@link createEventId}. */
  createId?: () => string;
  /** Name of the event that tells a client that events were lost. Default {@link HISTORY_GAP_EVENT}. */
  historyGapEvent?: string;
}

export interface PublishOptions<Meta> {
  /** Kept with the event in history and given to subscriber filters. */
  meta?: Meta;
  /** Deliver only to these streams (those of them that are subscribed). */
  targets?: Iterable<AnyEventStream>;
  /** Deliver only to the streams this accepts. */
  filter?: (stream: AnyEventStream) => boolean;
}

export interface SubscribeOptions<Meta> {
  /** Replay what came after this id. Default: the stream's own `lastEventId`; `''` for none. */
  lastEventId?: string;
  /** Send only the events this accepts, replayed and live alike. */
  filter?: (meta: Meta, id: string) => boolean;
}

/**
 * The event a subscriber gets, before the replay, when its `lastEventId` is not in the
 * history (unknown, or evicted already) or when events are evicted while it is still
 * replaying: some events may be lost. Its data is JSON:
 * `{ "lastEventId": <the id resumed from>, "earliestId": <the oldest id retained, or null> }`.
 * It carries no `id`, so the client's last event id stays where it was.
 */
export const HISTORY_GAP_EVENT = 'tidings:history-gap';

/** What the history keeps besides the bytes: the publisher's meta, and who may see it again. */
interface Stored<Meta> {
  meta: Meta;
  /** Set for targeted or filtered publishes: a replay must not show them to anyone else. */
  audience: ((stream: AnyEventStream) => boolean) | undefined;
}

/** `Subscription.next` of a subscriber that gets events as they are published. */
const LIVE = -1;

interface Subscription<Meta> {
  readonly stream: AnyEventStream;
  readonly filter: ((meta: Meta, id: string) => boolean) | undefined;
  /** History position of the next event to replay; LIVE once caught up. */
  next: number;
  /** The last id sent to this subscriber by the replay (or resumed from): what a gap notice names. */
  cursorId: string;
  removeCloseListener: () => void;
}

/** A throwing filter excludes its subscriber; it must not stop delivery to everyone else. */
function passes<A, B>(test: (a: A, b: B) => boolean, a: A, b: B): boolean {
  try {
    return test(a, b);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
    return false;
  }
}

/**
 * Broadcast with history. `publish` gives the event an id (monotonic and sortable, unless one
 * is given), encodes it once and hands the same bytes to every subscriber; streams write what
 * they got within one turn in one write.
 *
 * `subscribe` with a last event id replays what came after it, then goes live, with no gap
 * and no duplicate: while a subscriber replays, new events reach it through the history, in
 * order, and it goes live in the same turn it catches up. The replay waits for the client
 * (it never fills the stream's queue), so a large history does not trip the slow-consumer
 * bound. An id the history does not hold gets a {@link HISTORY_GAP_EVENT} first, then
 * everything retained: the client learns that it may have missed events instead of missing
 * them silently.
 */
export class Channel<E extends EventMap = Record<string, unknown>, Meta = unknown> {
  readonly #subscriptions = new Map<AnyEventStream, Subscription<Meta>>();
  #history: History<Stored<Meta>> | undefined;
  readonly #serialize: (data: unknown) => string;
  readonly #createId: () => string;
  readonly #gapEvent: string;
  #closed = false;

  constructor(options: ChannelOptions = {}) {
    this.#history = options.history === false ? undefined : new History(options.history);
    this.#serialize = options.serialize ?? JSON.stringify;
    this.#createId = options.createId ?? createEventId;
    this.#gapEvent = options.historyGapEvent ?? HISTORY_GAP_EVENT;
    // Validates the name now rather than at the first gap.
    encodeEventBytes({ event: this.#gapEvent });
  }

  /** Number of subscribed streams. */
  get size(): number {
    return this.#subscriptions.size;
  }

  /**
   * Sends an event to every subscriber (or to `targets`, or to those `filter` accepts) and
   * keeps it in history.
   *
   * @throws TypeError when the event is invalid (CR/LF/NUL in `event` or `id`, unserializable
   *   data), when `id` is empty or already in history; Error when the channel is closed.
   *   Nothing is sent or kept then.
   */
  publish<K extends keyof E & string>(
    message: SendOptions<E, K>,
    options: PublishOptions<Meta> = {},
  ): { id: string } {
    if (this.#closed) throw new Error('Channel.publish: the channel is closed');
    const id = message.id ?? this.#createId();
    if (id === '') {
      throw new TypeError(
        'Channel.publish: "id" must not be empty: every event of a channel needs an id to resume from',
      );
    }
    const history = this.#history;
    if (history?.positionOf(id) !== undefined) {
      throw new TypeError(
        `Channel.publish: id "${id}" is already in the history; ids must be unique for Last-Event-ID to resume at the right event`,
      );
    }
    const wire = toEventMessage(message as SendOptions<EventMap, string>, this.#serialize);
    wire.id = id;
    const chunk = encodeEventBytes(wire);
    const meta = options.meta as Meta;
    const filter = options.filter;
    const targets = options.targets === undefined ? undefined : new Set(options.targets);
    const audience =
      targets === undefined
        ? filter
        : filter === undefined
          ? (stream: AnyEventStream) => targets.has(stream)
          : (stream: AnyEventStream) => targets.has(stream) && filter(stream);
    history?.append({ id, chunk, meta: { meta, audience }, time: Date.now() });

    if (targets === undefined) {
      for (const subscription of this.#subscriptions.values()) {
        this.#deliver(subscription, chunk, meta, id, filter);
      }
    } else {
      for (const stream of targets) {
        const subscription = this.#subscriptions.get(stream);
        if (subscription !== undefined) this.#deliver(subscription, chunk, meta, id, filter);
      }
    }
    return { id };
  }

  /**
   * Adds a stream: it replays from `lastEventId` (by default the one its client sent), then
   * gets events as they are published. It leaves when it closes, or on `unsubscribe`.
   *
   * @throws Error when the stream is already subscribed or the channel is closed.
   */
  subscribe(stream: AnyEventStream, options: SubscribeOptions<Meta> = {}): void {
    if (this.#closed) throw new Error('Channel.subscribe: the channel is closed');
    if (this.#subscriptions.has(stream)) {
      throw new Error('Channel.subscribe: this stream is already subscribed to the channel');
    }
    if (stream.closed) return;
    const subscription: Subscription<Meta> = {
      stream,
      filter: options.filter,
      next: LIVE,
      cursorId: '',
      removeCloseListener: stream.onClose(() => this.unsubscribe(stream)),
    };
    this.#subscriptions.set(stream, subscription);

    const lastEventId = options.lastEventId ?? stream.lastEventId;
    if (lastEventId === '') return;
    subscription.cursorId = lastEventId;
    const history = this.#history;
    if (history === undefined) {
      this.#sendGap(stream, lastEventId);
      return;
    }
    const position = history.positionOf(lastEventId);
    if (position === undefined) {
      this.#sendGap(stream, lastEventId);
      subscription.next = history.firstPosition;
    } else {
      subscription.next = position + 1;
    }
    this.#replay(subscription);
  }

  /** Removes a stream (it stays open). */
  unsubscribe(stream: AnyEventStream): void {
    const subscription = this.#subscriptions.get(stream);
    if (subscription === undefined) return;
    this.#subscriptions.delete(stream);
    subscription.removeCloseListener();
  }

  /**
   * Unsubscribes everyone and drops the history; `publish` and `subscribe` throw afterwards.
   * The streams stay open (they may belong to other channels) unless `closeStreams` is set.
   */
  close(options: { closeStreams?: boolean } = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    const subscriptions = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    this.#history = undefined;
    for (const subscription of subscriptions) {
      subscription.removeCloseListener();
      if (options.closeStreams) subscription.stream.close();
    }
  }

  #deliver(
    subscription: Subscription<Meta>,
    chunk: Uint8Array,
    meta: Meta,
    id: string,
    filter: ((stream: AnyEventStream) => boolean) | undefined,
  ): void {
    // A subscriber still replaying gets this event from the history, in its turn.
    if (subscription.next !== LIVE) return;
    const stream = subscription.stream;
    if (filter !== undefined && !passes(filter, stream, undefined)) return;
    if (subscription.filter !== undefined && !passes(subscription.filter, meta, id)) return;
    stream.sendEncoded(chunk);
  }

  #admits(subscription: Subscription<Meta>, entry: HistoryEntry<Stored<Meta>>): boolean {
    const { audience, meta } = entry.meta;
    if (audience !== undefined && !passes(audience, subscription.stream, undefined)) return false;
    return subscription.filter === undefined || passes(subscription.filter, meta, entry.id);
  }

  /**
   * Sends history entries from the subscription's position until it catches up, pausing
   * whenever the client is behind. Entries published meanwhile are appended to the history
   * and reached in order; going live happens synchronously with reading the last one, so no
   * publish falls between the two.
   */
  #replay(subscription: Subscription<Meta>): void {
    const history = this.#history;
    const stream = subscription.stream;
    if (history === undefined || this.#subscriptions.get(stream) !== subscription) return;
    while (subscription.next < history.endPosition) {
      if (subscription.next < history.firstPosition) {
        // Evicted before this subscriber got to them (it read slowly, the history is small).
        this.#sendGap(stream, subscription.cursorId);
        subscription.next = history.firstPosition;
        continue;
      }
      const entry = history.at(subscription.next) as HistoryEntry<Stored<Meta>>;
      subscription.next++;
      if (!this.#admits(subscription, entry)) continue;
      subscription.cursorId = entry.id;
      if (!stream.sendEncoded(entry.chunk)) {
        if (stream.closed) return;
        stream.drained().then(() => this.#replay(subscription));
        return;
      }
    }
    subscription.next = LIVE;
  }

  #sendGap(stream: AnyEventStream, lastEventId: string): void {
    const history = this.#history;
    const earliest = history?.at(history.firstPosition)?.id ?? null;
    stream.sendEncoded(
      encodeEventBytes({
        event: this.#gapEvent,
        data: JSON.stringify({ lastEventId, earliestId: earliest }),
      }),
    );
  }
}
