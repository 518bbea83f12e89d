import type { Subscriber } from './subscriber.js';
import type { SelectorSet } from './topic-selector.js';
import type { UpdateMatcher } from './update-matcher.js';

/**
 * Which subscribers an update goes to, without asking every subscriber.
 *
 * Most subscriptions name exact topics: those are found with one Map lookup per topic of the
 * update. Subscribers with a URI template or `*` are grouped by their selector set, which is
 * interned (`shared-compilations.ts`): a group is matched once per update, however many
 * subscribers share it, and its members are then only checked for the private-update claim.
 */
export class SubscriberIndex {
  readonly #byTopic = new Map<string, Set<Subscriber>>();
  readonly #byPatterns = new Map<SelectorSet, Set<Subscriber>>();
  readonly #all = new Set<Subscriber>();
  #subscriptions = 0;
  /** Numbers the updates visited, so a subscriber matched by two topics gets one delivery. */
  #round = 0;

  get size(): number {
    return this.#all.size;
  }

  /** Topic selectors across all subscribers. */
  get subscriptions(): number {
    return this.#subscriptions;
  }

  /** Distinct selector sets with templates or `*`: what an update is matched against. */
  get patternGroups(): number {
    return this.#byPatterns.size;
  }

  values(): IterableIterator<Subscriber> {
    return this.#all.values();
  }

  has(subscriber: Subscriber): boolean {
    return this.#all.has(subscriber);
  }

  add(subscriber: Subscriber): void {
    if (this.#all.has(subscriber)) return;
    this.#all.add(subscriber);
    const set = subscriber.selectors;
    this.#subscriptions += set.selectors.length;
    for (const selector of set.selectors) {
      const topic = selector.exactTopic;
      if (topic !== undefined) addTo(this.#byTopic, topic, subscriber);
    }
    if (set.hasPatterns) addTo(this.#byPatterns, set, subscriber);
  }

  delete(subscriber: Subscriber): void {
    if (!this.#all.delete(subscriber)) return;
    const set = subscriber.selectors;
    this.#subscriptions -= set.selectors.length;
    for (const selector of set.selectors) {
      const topic = selector.exactTopic;
      if (topic !== undefined) deleteFrom(this.#byTopic, topic, subscriber);
    }
    if (set.hasPatterns) deleteFrom(this.#byPatterns, set, subscriber);
  }

  /**
   * Calls `visit` once for every subscriber that asked for `update` and may receive it.
   * The hot path of fan-out: `matcher` must have begun this update's topics.
   */
  forEachRecipient<U extends { readonly topics: readonly string[]; readonly private: boolean }>(
    update: U,
    matcher: UpdateMatcher,
    visit: (subscriber: Subscriber, update: U) => void,
  ): void {
    const round = ++this.#round;
    const topics = update.topics;
    const isPrivate = update.private;
    for (let t = 0; t < topics.length; t++) {
      const members = this.#byTopic.get(topics[t]!);
      if (members === undefined) continue;
      for (const subscriber of members) {
        if (subscriber.lastRound === round) continue;
        subscriber.lastRound = round;
        // An exact selector matched, so the subscription side is settled: a public update
        // needs no further test, a private one only the claim.
        if (!isPrivate || mayReceivePrivate(subscriber, matcher)) visit(subscriber, update);
      }
    }
    for (const [set, members] of this.#byPatterns) {
      if (!matcher.matches(set)) continue;
      for (const subscriber of members) {
        if (subscriber.lastRound === round) continue;
        subscriber.lastRound = round;
        if (!isPrivate || mayReceivePrivate(subscriber, matcher)) visit(subscriber, update);
      }
    }
  }
}

/**
 * Draft-07: "To receive updates marked as `private`, a subscriber MUST prove that it is
 * authorized for at least one of the topics of this update." Claims are interned too, so this
 * is one evaluation per distinct claim per update.
 */
function mayReceivePrivate(subscriber: Subscriber, matcher: UpdateMatcher): boolean {
  const claim = subscriber.grant.selectors;
  return claim !== undefined && matcher.matches(claim);
}

function addTo<K>(map: Map<K, Set<Subscriber>>, key: K, subscriber: Subscriber): void {
  const members = map.get(key);
  if (members) members.add(subscriber);
  else map.set(key, new Set([subscriber]));
}

function deleteFrom<K>(map: Map<K, Set<Subscriber>>, key: K, subscriber: Subscriber): void {
  const members = map.get(key);
  if (members?.delete(subscriber) && members.size === 0) map.delete(key);
}
