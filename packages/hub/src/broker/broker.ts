/**
 * The broker: where updates are ordered, kept for replay and (for shared brokers) carried
 * between hub nodes. It is chosen by the scheme of a transport URL, as Mercure's
 * Transport is: `memory://` here, `redis://` next.
 *
 * What a broker does NOT do is fan out to connections: each node's hub gets one ordered
 * feed of updates from its broker and does the node-local work itself (topic index, one
 * encoding per update, coalesced writes). See docs/hub.md, "Broker design".
 */
import type { StoredUpdate, Update } from '../update.js';

/** Receives every update the broker accepts, in `sequence` order, exactly once. */
export type UpdateListener = (update: StoredUpdate) => void;

/** What a subscriber asking to resume gets back. */
export interface Replay {
  /**
   * The updates after the requested id, oldest first, unfiltered (the hub filters by
   * topic and authorization). All the broker keeps when the id was `earliest`, unknown or
   * already evicted.
   */
  readonly updates: readonly StoredUpdate[];
  /**
   * For the `Last-Event-ID` response header: "the ID of the event preceding the first one
   * sent to the subscriber, or the reserved value `earliest` if there is no preceding
   * event (it happens when the hub history is empty, when the subscriber requests the
   * earliest event or when the subscriber requests an event that doesn't exist)".
   */
  readonly precedingId: string;
  /**
   * The replay covers every update with `sequence <= through`. Live updates the hub held
   * back for this subscriber while the replay was read are sent only when newer: that is
   * what makes replay + live free of gaps and duplicates.
   */
  readonly through: number;
}

export interface Broker {
  /** A name for logs and `/healthz`, e.g. `memory`. */
  readonly name: string;
  /**
   * Starts the live feed; called once, before the hub serves. Updates published on any
   * node sharing this broker reach `listener`, in order.
   */
  start(listener: UpdateListener): Promise<void>;
  /**
   * Accepts an update. Resolves once it is ordered and kept (durable, for a broker that
   * persists) — the publisher is told the id only then, so an acknowledged update is never
   * lost to a restart or failover. The listener has seen it by the time the promise
   * settles on the node that published it.
   *
   * @throws BrokerUnavailableError when the update could not be accepted.
   */
  publish(update: Update): Promise<StoredUpdate>;
  /** The updates after `lastEventId` (or all kept for `earliest`). */
  replay(lastEventId: string): Promise<Replay>;
  /** The id of the last update accepted, or `earliest` when there was none. */
  lastEventId(): Promise<string>;
  /** Stops the feed and frees everything; later calls reject. */
  close(): Promise<void>;
}

/** The transport URL was not understood: a startup error with a line to act on. */
export class BrokerConfigError extends Error {
  override name = 'BrokerConfigError';
}

/** The broker could not take an update right now (closed, or its backend is down): 503. */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
}

export type BrokerFactory = (url: URL) => Broker | Promise<Broker>;

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
export async function createBroker(transport: string): Promise<Broker> {
  let url: URL;
  try {
    url = new URL(transport);
  } catch {
    throw new BrokerConfigError(
      `invalid transport URL "${transport}": use e.g. memory:// (known schemes: ${known()})`,
    );
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const factory = factories.get(scheme);
  if (!factory) {
    throw new BrokerConfigError(
      `unknown transport "${scheme}://" in "${transport}": known schemes are ${known()}`,
    );
  }
  return factory(url);
}

function known(): string {
  return brokerSchemes()
    .map((scheme) => `${scheme}://`)
    .join(', ');
}
