import { type MercureClaims, SubscribeGrant } from './auth/index.js';
import { SelectorSet } from './topic-selector.js';

/** How many distinct selector lists (and grants) are kept compiled for reuse. */
const LIMIT = 10_000;

/**
 * Compiled selector sets and grants, shared by every subscriber that asks for the same
 * thing. Ten thousand browsers on one page subscribe to the same few topics with the same
 * claims: they share one immutable SelectorSet and one SubscribeGrant instead of holding ten
 * thousand copies. Bounded, oldest first out, so unusual lists cannot grow it forever.
 */
export class SharedCompilations {
  readonly #selectorSets = new Map<string, SelectorSet>();
  readonly #grants = new Map<string, SubscribeGrant>();
  readonly #anonymous = new SubscribeGrant(undefined);

  /** @throws TopicSelectorError for a malformed selector. */
  selectorSet(selectors: readonly string[]): SelectorSet {
    // Selectors never contain control characters (the parser refuses them): LF separates.
    const key = selectors.join('\n');
    return remember(this.#selectorSets, key, () => new SelectorSet(selectors));
  }

  grant(claims: MercureClaims | undefined): SubscribeGrant {
    const subscribe = claims?.subscribe;
    if (subscribe === undefined) return this.#anonymous;
    return remember(this.#grants, subscribe.join('\n'), () => new SubscribeGrant(claims));
  }
}

function remember<V>(cache: Map<string, V>, key: string, create: () => V): V {
  const found = cache.get(key);
  if (found !== undefined) return found;
  const created = create();
  if (cache.size >= LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, created);
  return created;
}
