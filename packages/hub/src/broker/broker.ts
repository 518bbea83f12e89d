/**
 * The broker: the hub's shared, ordered log of updates. It orders and keeps what publishers
 * send, feeds each hub node every update in order, and replays the log to subscribers that
 * resume. It is chosen by the scheme of a transport URL, as Mercure's Transport is:
 * `memory://` in this package, `redis://` in `@tidings/redis`.
 *
 * The contract is written for a log that lives elsewhere and is reached asynchronously
 * (Redis Streams), the way Centrifuge's broker is:
 * - every update has a {@link LogPosition} `{ epoch, sequence }`; the epoch changes when the
 *   log lost data (a restarted memory broker, a flushed or failed-over Redis), so a position
 *   of another epoch is never mistaken for a place in this one;
 * - the publisher is acknowledged once the update is kept, not once anyone has seen it: each
 *   node's feed may lag behind the acknowledgement;
 * - replay is paged and bounded by a join point (`upTo`) the hub takes after registering a
 *   subscriber, so replay + live is free of gaps and duplicates however far the feed lags.
 *
 * What a broker does NOT do is fan out to connections: each node's hub does that itself
 * (`fan-out.ts`), from the one feed its broker gives it.
 */
import { Registry } from 'prom-client';
import { createLogger, type Logger } from '../logger.js';
import type { StoredUpdate, Update } from '../update.js';
import type { Presence } from './presence.js';
import { redactedTransport } from './redacted-transport.js';

/** A place in the log: after the update with this `sequence`, in this `epoch`. */
export interface LogPosition {
  /**
   * Names one life of the log. It changes when the log lost data it had acknowledged, or
   * when its sequence restarted: positions of different epochs cannot be compared.
   */
  readonly epoch: string;
  /** Strictly increasing within an epoch; `0` is the position before the first update. */
  readonly sequence: number;
}

/** Where the log stands: the position of the newest update kept, and that update's id. */
export interface LogHead extends LogPosition {
  /** The id of the newest update, or `undefined` when the log is empty. */
  readonly lastEventId: string | undefined;
}

/** Where a replay starts. */
export type ReplayFrom =
  /** Everything the log still keeps. */
  | { readonly kind: 'earliest' }
  /** After the update with this id (a client's `Last-Event-ID`). */
  | { readonly kind: 'id'; readonly id: string }
  /** After this position: the cursor of a previous page. */
  | { readonly kind: 'position'; readonly position: LogPosition };

export interface ReplayOptions {
  /**
   * The join point: the page never goes past it. The hub reads the log's {@link Broker.head}
   * after it started holding live updates for the subscriber; updates after `upTo` reach the
   * subscriber through the feed instead.
   */
  readonly upTo: LogPosition;
  /** The most updates in one page. */
  readonly limit: number;
}

/**
 * Why a replay starts where it does:
 * - `resumed`: the id (or position) was found; the replay starts right after it;
 * - `earliest`: everything kept was asked for;
 * - `unknown-id`: the id is not in the log (evicted, or never published here): the replay
 *   holds everything kept, and the client must be told it may have missed updates;
 * - `epoch-changed`: the log lost data since `upTo` (or the cursor) was taken: the replay is
 *   empty and the subscriber has to start over, told that it may have missed updates.
 */
export type ReplayOutcome = 'resumed' | 'earliest' | 'unknown-id' | 'epoch-changed';

/** One page of a replay. */
export interface ReplayPage {
  readonly outcome: ReplayOutcome;
  /** Oldest first, unfiltered (the hub filters by topic and authorization), all at or before `upTo`. */
  readonly updates: readonly StoredUpdate[];
  /**
   * The id of the update just before the first one of the replay, for the `Last-Event-ID`
   * response header; `undefined` when no update precedes it (empty log, `earliest`, unknown id).
   * Meaningful on the first page.
   */
  readonly precedingId: string | undefined;
  /** Where the next page starts, or `undefined` when the replay has reached `upTo`. */
  readonly next: LogPosition | undefined;
}

/** Whether a broker can take work now; `/readyz` and the publish path read it. */
export interface BrokerHealth {
  readonly ready: boolean;
  /** Why not, in one line an operator can act on. */
  readonly reason?: string;
}

/** Updates the feed could not deliver and cannot recover. */
export interface FeedGap {
  /** The last position the feed delivered before the gap. */
  readonly after: LogPosition;
  /** Where the feed goes on: the next update delivered comes after this position. */
  readonly resumeAfter: LogPosition;
  /** What happened, for logs. */
  readonly reason: string;
}

/** What a node's hub receives from its broker. */
export interface BrokerFeed {
  /**
   * Every update the log accepts, from any node, in log order, each once. May be called
   * from any turn of the event loop, including inside `publish`: the receiver queues.
   */
  update(update: StoredUpdate): void;
  /**
   * The feed missed updates it cannot get back (the log lost them, or trimmed them before
   * the feed could read them). Subscribers may have missed them too: the hub makes them
   * resume, so that each is told through the `Last-Event-ID` it gets back.
   */
  gap(gap: FeedGap): void;
  /** The backend became unreachable, or came back. For readiness and logs. */
  health(health: BrokerHealth): void;
}

/** What a broker factory gets besides its URL. */
export interface BrokerContext {
  readonly logger: Logger;
  /** The hub's Prometheus registry, for the broker's own metrics (prom-client `Registry`). */
  readonly registry: Registry;
}

export interface Broker {
  /** A name for logs and `/healthz`, e.g. `memory`. */
  readonly name: string;
  /**
   * Who is subscribed on every node sharing this broker, for the subscriptions API. Started
   * by the hub only when that API is on; a broker without it gets a one-node presence.
   */
  readonly presence?: Presence;
  /**
   * Starts the live feed; called once, before the hub serves. From the moment the promise
   * resolves, every update the log accepts reaches `feed`, in order.
   */
  start(feed: BrokerFeed): Promise<void>;
  /**
   * Appends an update to the log. Resolves once it is ordered and kept (durable, for a broker
   * that persists): the publisher is told the id only then, so an acknowledged update is never
   * lost to a restart or failover the broker promises to survive. Nothing is promised about
   * when the feed delivers it.
   *
   * @throws BrokerUnavailableError when the update could not be accepted (nothing was kept).
   */
  publish(update: Update): Promise<StoredUpdate>;
  /**
   * The newest position of the log. Every update at or before it can be read with
   * {@link replay}; every update after it will still reach the feed.
   *
   * @throws BrokerUnavailableError
   */
  head(): Promise<LogHead>;
  /**
   * One page of the log after `from`, never past `options.upTo`. Looking an id up may cost
   * the broker a bounded search; an id it cannot find is `unknown-id`.
   *
   * @throws BrokerUnavailableError
   */
  replay(from: ReplayFrom, options: ReplayOptions): Promise<ReplayPage>;
  /** Whether the broker can take work now. Never throws. */
  health(): Promise<BrokerHealth>;
  /** Stops the feed and frees everything; later calls reject with BrokerUnavailableError. */
  close(): Promise<void>;
}

/** The transport URL was not understood: a startup error with a line to act on. */
export class BrokerConfigError extends Error {
  override name = 'BrokerConfigError';
}

/** The broker could not do what was asked right now (closed, or its backend is down): 503. */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
}

/**
 * Creates a broker from its transport URL. `transport` is the URL as written: a factory whose
 * URLs name several hosts (`redis+sentinel://a:26379,b:26379/…`, which `URL` cannot hold)
 * reads the host list from it; `url` then holds the first host only.
 */
export type BrokerFactory = (
  url: URL,
  context: BrokerContext,
  transport: string,
) => Broker | Promise<Broker>;

const factories = new Map<string, BrokerFactory>();

/** Makes `scheme://` transport URLs create brokers with `factory`. `scheme` without the colon. */
export function registerBroker(scheme: string, factory: BrokerFactory): void {
  factories.set(scheme.toLowerCase(), factory);
}

/** The schemes that can be used, e.g. `['memory']`. */
export function brokerSchemes(): string[] {
  return [...factories.keys()];
}

/**
 * Creates the broker a transport URL names.
 *
 * @throws BrokerConfigError for a malformed URL or an unknown scheme.
 */
export async function createBroker(
  transport: string,
  context: BrokerContext = { logger: createLogger({ level: 'silent' }), registry: new Registry() },
): Promise<Broker> {
  let url: URL;
  try {
    url = new URL(firstHostOnly(transport));
  } catch {
    throw new BrokerConfigError(
      `invalid transport URL "${redactedTransport(transport)}": use e.g. memory:// (known schemes: ${known()})`,
    );
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const factory = factories.get(scheme);
  if (!factory) {
    throw new BrokerConfigError(
      `unknown transport "${scheme}://" in "${redactedTransport(transport)}": known schemes are ${known()}`,
    );
  }
  return factory(url, context, transport);
}

/** `s://u@a:1,b:2/p` → `s://u@a:1/p`: a host list, cut to its first host so `URL` can read it. */
function firstHostOnly(transport: string): string {
  const match = /^([a-z][a-z\d+.-]*:\/\/(?:[^/?#@]*@)?)([^/?#]*)(.*)$/is.exec(transport);
  if (!match || !match[2]!.includes(',')) return transport;
  return `${match[1]}${match[2]!.split(',', 1)[0]}${match[3]}`;
}

/** Positions compare only within an epoch: true when `a` is at or before `b`. */
export function isAtOrBefore(a: LogPosition, b: LogPosition): boolean {
  return a.epoch === b.epoch && a.sequence <= b.sequence;
}

function known(): string {
  return brokerSchemes()
    .map((scheme) => `${scheme}://`)
    .join(', ');
}
