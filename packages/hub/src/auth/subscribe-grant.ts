import type { SelectorSet } from '../topic-selector.js';
import { claimSelectors, type MercureClaims } from './claims.js';

/**
 * What a subscriber may receive, compiled once from its token's `mercure.subscribe` claim.
 *
 * Draft-07, "Subscribers": "To receive updates marked as `private`, a subscriber MUST prove
 * that it is authorized for at least one of the topics of this update. [...] The hub MUST
 * check that at least one topic of the update to dispatch (*canonical* or *alternate*)
 * matches at least one topic selector provided in `mercure.subscribe`."
 */
export class SubscribeGrant {
  /** The compiled `mercure.subscribe` selectors; undefined without the claim (public updates only). */
  readonly selectors: SelectorSet | undefined;

  constructor(claims: MercureClaims | undefined) {
    const subscribe = claims?.subscribe;
    this.selectors = subscribe === undefined ? undefined : claimSelectors(subscribe);
  }

  /** True when the claim lets the subscriber see private updates on one of these topics. */
  canReceivePrivate(topics: readonly string[]): boolean {
    return this.selectors?.matchesAny(topics) === true;
  }

  /**
   * Whether an update goes to this subscriber: one of its topics matches the subscription,
   * and, when the update is private, one of its topics matches the claim (not necessarily the
   * same topic, as the draft says).
   */
  canReceive(
    update: { topics: readonly string[]; private: boolean },
    subscription: SelectorSet,
  ): boolean {
    if (!subscription.matchesAny(update.topics)) return false;
    return !update.private || this.canReceivePrivate(update.topics);
  }
}
