import type { Subscriber } from './subscriber.js';
import type { StoredUpdate } from './update.js';

/**
 * Which subscribers an update goes to, without asking every subscriber.
 *
 * Most subscriptions name exact topics: those are found with one Map lookup per topic of the
 * update. Only subscribers with a URI template or `*` are tested one by one, against
 * selectors compiled once at subscribe time.
 */
export class SubscriberIndex {
  readonly #byTopic = new Map<string, Set<Subscriber>>();
  readonly #withPatterns = new Set<Subscriber>();
  readonly #all = new Set<Subscriber>();
  #subscriptions = 0;

  get size(): number {
    return this.#all.size;
  }

  /** Topic selectors across all subscribers. */
  get subscriptions(): number {
    return this.#subscriptions;
  }

  values(): IterableIterator<Subscriber> {
    return this.#all.values();
  }

  add(subscriber: Subscriber): void {
    if (this.#all.has(subscriber)) return;
    this.#all.add(subscriber);
    for (const selector of subscriber.selectors.selectors) {
      this.#subscriptions++;
      const topic = selector.exactTopic;
      if (topic === undefined) {
        this.#withPatterns.add(subscriber);
        continue;
      }
      const set = this.#byTopic.get(topic);
      if (set) set.add(subscriber);
      else this.#byTopic.set(topic, new Set([subscriber]));
    }
  }

  delete(subscriber: Subscriber): void {
    if (!this.#all.delete(subscriber)) return;
    this.#withPatterns.delete(subscriber);
    for (const selector of subscriber.selectors.selectors) {
      this.#subscriptions--;
      const topic = selector.exactTopic;
      if (topic === undefined) continue;
      const set = this.#byTopic.get(topic);
      if (set?.delete(subscriber) && set.size === 0) this.#byTopic.delete(topic);
    }
  }

  /**
   * Calls `visit` once for every subscriber that asked for `update` and may receive it.
   * The hot path of fan-out.
   */
  forEachRecipient(update: StoredUpdate, visit: (subscriber: Subscriber) => void): void {
    const sequence = update.sequence;
    const topics = update.topics;
    for (let t = 0; t < topics.length; t++) {
      const set = this.#byTopic.get(topics[t]!);
      if (set === undefined) continue;
      for (const subscriber of set) {
        if (subscriber.lastConsidered === sequence) continue;
        subscriber.lastConsidered = sequence;
        // An exact selector matched, so the subscription side is settled: a public update
        // needs no further test, a private one only the claim.
        if (!update.private || subscriber.grant.canReceivePrivate(topics)) {
          visit(subscriber);
        }
      }
    }
    for (const subscriber of this.#withPatterns) {
      if (subscriber.lastConsidered === sequence) continue;
      subscriber.lastConsidered = sequence;
      if (subscriber.accepts(update)) visit(subscriber);
    }
  }
}
