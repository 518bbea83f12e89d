import { randomUUID } from 'node:crypto';
import type { EventStream } from '@tidings/server';
import type { SubscribeGrant } from './auth/index.js';
import type { LogPosition } from './broker/broker.js';
import type { SelectorSet } from './topic-selector.js';
import type { StoredUpdate } from './update.js';

/**
 * One subscriber connection: what it asked for, what it may see, and where its events go.
 * Kept small — a hub holds tens of thousands of these, mostly idle.
 */
export class Subscriber {
  readonly selectors: SelectorSet;
  readonly grant: SubscribeGrant;
  /** `mercure.payload` of the token, shown in subscription events and the subscriptions API. */
  readonly payload: unknown;
  readonly address: string;
  /** Set once the response is open; until then updates are held. */
  stream: EventStream | undefined;
  /**
   * Live updates held back while history is replayed (or before the stream opens);
   * `undefined` once live.
   */
  held: StoredUpdate[] | undefined;
  heldBytes = 0;
  /**
   * Set while this node's feed lags behind the join point of the subscriber's replay: feed
   * updates up to it were in the replay and are skipped.
   */
  replayedUpTo: LogPosition | undefined;
  /** The index's round of the last update considered, so an update matched twice is sent once. */
  lastRound = 0;
  /** Where the subscriber is in its life: its connection slot is released exactly once. */
  state: 'joining' | 'registered' | 'gone' = 'joining';
  /** Set when the hub dropped this subscriber (slow consumer) before or after its stream opened. */
  closed = false;
  /** Cancels the close at token expiry, when the token has `exp`. */
  cancelExpiry: (() => void) | undefined;
  #id: string | undefined;

  constructor(init: {
    selectors: SelectorSet;
    grant: SubscribeGrant;
    payload: unknown;
    address: string;
  }) {
    this.selectors = init.selectors;
    this.grant = init.grant;
    this.payload = init.payload;
    this.address = init.address;
  }

  /**
   * "`{subscriber}` SHOULD be an IRI [...] An UUID MAY be used": `urn:uuid:<uuid>`. Made on
   * first use — only subscription events, the subscriptions API and debug logs need it.
   */
  get id(): string {
    this.#id ??= `urn:uuid:${randomUUID()}`;
    return this.#id;
  }

  /** Whether this subscriber asked for the update and may see it (private updates need a claim). */
  accepts(update: StoredUpdate): boolean {
    return update.private
      ? this.grant.canReceive(update, this.selectors)
      : this.selectors.matchesAny(update.topics);
  }
}
