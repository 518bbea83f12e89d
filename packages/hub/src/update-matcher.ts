import type { SelectorSet, TopicSelector } from './topic-selector.js';

/** Topics whose template results are kept across updates. */
const CACHED_TOPICS = 1024;
/** (template, topic) results kept across updates, in all. */
const CACHED_RESULTS = 65_536;

/**
 * Answers "does this selector set match the update being fanned out?" at the least cost:
 *
 * - each distinct selector set is evaluated once per update: subscribers and claims are
 *   interned (`shared-compilations.ts`), so 100 000 subscribers on one template, or with one
 *   `mercure.subscribe` claim, cost one evaluation;
 * - each distinct template selector is matched once per update, whatever sets it is in;
 * - template results are kept across updates in a bounded (template, topic) cache, so a topic
 *   published again costs Map lookups, not matches (Mercure keeps the same kind of cache).
 *
 * The matching itself is linear in the topic (`uri-template-matcher.ts`), and topics and
 * selectors are capped in length where requests are parsed, so one update costs at most
 * (distinct templates) × (longest topic) steps.
 */
export class UpdateMatcher {
  #topics: readonly string[] = [];
  readonly #sets = new Map<SelectorSet, boolean>();
  readonly #templates = new Map<TopicSelector, boolean>();
  readonly #cache = new TemplateResultCache();

  /** Starts matching a new update: forgets the previous update's answers. */
  begin(topics: readonly string[]): void {
    this.#topics = topics;
    this.#sets.clear();
    this.#templates.clear();
  }

  /** True when one of the update's topics matches one of the set's selectors. */
  matches(set: SelectorSet): boolean {
    const known = this.#sets.get(set);
    if (known !== undefined) return known;
    const result = this.#evaluate(set);
    this.#sets.set(set, result);
    return result;
  }

  #evaluate(set: SelectorSet): boolean {
    const topics = this.#topics;
    if (topics.length === 0) return false;
    if (set.matchesAll) return true;
    for (const topic of topics) if (set.hasExact(topic)) return true;
    for (const template of set.templates) if (this.#template(template)) return true;
    return false;
  }

  #template(template: TopicSelector): boolean {
    const known = this.#templates.get(template);
    if (known !== undefined) return known;
    let result = false;
    for (const topic of this.#topics) {
      let matched = this.#cache.get(template, topic);
      if (matched === undefined) {
        matched = template.matches(topic);
        this.#cache.set(template, topic, matched);
      }
      if (matched) {
        result = true;
        break;
      }
    }
    this.#templates.set(template, result);
    return result;
  }
}

/** Template match results by topic, bounded by topics and by results; oldest topic out first. */
export class TemplateResultCache {
  readonly #byTopic = new Map<string, Map<TopicSelector, boolean>>();
  #results = 0;

  get size(): number {
    return this.#results;
  }

  get(template: TopicSelector, topic: string): boolean | undefined {
    return this.#byTopic.get(topic)?.get(template);
  }

  set(template: TopicSelector, topic: string, matched: boolean): void {
    let results = this.#byTopic.get(topic);
    if (results === undefined) {
      // Room is made when a topic comes in, so the topic being matched is never the one evicted.
      while (
        this.#byTopic.size > 0 &&
        (this.#byTopic.size >= CACHED_TOPICS || this.#results >= CACHED_RESULTS)
      ) {
        this.#evictOldest();
      }
      results = new Map();
      this.#byTopic.set(topic, results);
    } else if (this.#results >= CACHED_RESULTS) {
      return;
    }
    if (results.has(template)) return;
    results.set(template, matched);
    this.#results++;
  }

  #evictOldest(): void {
    const [topic, results] = this.#byTopic.entries().next().value!;
    this.#byTopic.delete(topic);
    this.#results -= results.size;
  }
}
