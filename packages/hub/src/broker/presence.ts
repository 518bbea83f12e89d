/**
 * Presence: who is subscribed, across every node that shares a broker. The subscriptions API
 * (`GET /.well-known/mercure/subscriptions[...]`) answers from it, so that any node lists the
 * subscribers of all of them. A broker whose nodes share a backend keeps presence there
 * (`@tidings/redis` keeps one hash per node, refreshed by a heartbeat); {@link MemoryPresence}
 * is the one-node form.
 *
 * The hub uses presence only when the subscriptions API is on: it adds a record when a
 * subscriber is registered and removes it when the subscriber leaves. A shared presence also
 * finds nodes that stopped without saying so (killed, cut off) and hands their subscribers to
 * exactly one live node's {@link PresenceListener.departed}, which announces them as inactive.
 */
import type { MatcherType } from '../topic-matcher.js';

/** One matcher of a subscriber, as subscription documents show it. */
export interface PresenceMatcher {
  readonly matchType: MatcherType;
  /** The topic selector (draft-07 `topic`, draft-08 `match`). */
  readonly match: string;
}

/** What presence keeps of one subscriber: enough to render its subscription documents. */
export interface PresenceRecord {
  /** The subscriber's IRI (`urn:uuid:…`). */
  readonly subscriber: string;
  /** Whether it subscribed in draft-08 (its documents take the draft-08 form). */
  readonly draft08: boolean;
  readonly matchers: readonly PresenceMatcher[];
  /** `mercure.payload` of its token, when there was one. */
  readonly payload?: unknown;
}

/** What a node's hub hears from its presence. */
export interface PresenceListener {
  /**
   * Subscribers of another node that stopped without removing them (its heartbeat lapsed).
   * Each departed record reaches exactly one live node's listener, once.
   */
  departed(records: readonly PresenceRecord[]): void;
}

export interface Presence {
  /**
   * Starts keeping this node's records (and, for a shared presence, its heartbeat); called
   * once, when the hub starts with the subscriptions API on.
   *
   * @throws BrokerUnavailableError when the backend cannot be reached.
   */
  start(listener: PresenceListener): Promise<void>;
  /** Adds a subscriber of this node. Never throws: a shared presence writes it in the background. */
  add(record: PresenceRecord): void;
  /** Removes a subscriber of this node by its id. Never throws. */
  remove(subscriber: string): void;
  /**
   * Every subscriber of every live node. This node's own are always current; another node's
   * show once its presence wrote them (a shared presence writes promptly, in batches).
   *
   * @throws BrokerUnavailableError when the backend cannot be read.
   */
  list(): Promise<PresenceRecord[]>;
  /** Removes this node's records and stops; later `add`/`remove` are ignored. */
  close(): Promise<void>;
}

/** Presence on one node: the records in a Map. */
export class MemoryPresence implements Presence {
  readonly #records = new Map<string, PresenceRecord>();
  #closed = false;

  async start(_listener: PresenceListener): Promise<void> {}

  add(record: PresenceRecord): void {
    if (!this.#closed) this.#records.set(record.subscriber, record);
  }

  remove(subscriber: string): void {
    this.#records.delete(subscriber);
  }

  async list(): Promise<PresenceRecord[]> {
    return [...this.#records.values()];
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#records.clear();
  }
}
