import { compileTagged, describeMatcher, isTagged } from './topic-matcher.js';
import { UriTemplateSyntaxError } from './uri-template.js';
import { compileUriTemplate } from './uri-template-matcher.js';
import { UrlPatternSyntaxError } from './url-pattern-matcher.js';

export { UriTemplateSyntaxError } from './uri-template.js';
export { compileUriTemplate, type UriTemplateMatcher } from './uri-template-matcher.js';

/** A selector that is not a valid RFC 6570 URI template; the message is one line, for a 400. */
export class TopicSelectorError extends Error {
  override readonly name = 'TopicSelectorError';
  /** The selector as given. */
  readonly selector: string;

  constructor(selector: string, reason: string) {
    super(`invalid topic selector ${quote(selector)}: ${reason}`);
    this.selector = selector;
  }
}

/**
 * Most expressions (`{...}`) in one URI template. The first match of a template against a
 * topic builds automaton states at a cost of (expressions) × (topic length); real templates
 * have a handful, and this keeps a hostile one under a millisecond at the topic-length limit.
 */
export const MAX_TEMPLATE_EXPRESSIONS = 16;

/** How many compiled selectors {@link TopicSelector.compile} keeps for reuse. */
const CACHE_LIMIT = 10_000;
const cache = new Map<string, TopicSelector>();

/**
 * A compiled Mercure topic selector. Draft-07, "Topic Selectors":
 *
 * > 1. If the topic selector is `*` then the string matches the selector.
 * > 2. If the topic selector and the string are exactly the same, the string matches the
 * >    selector. This characteristic allows to compare a URI Template with another one.
 * > 3. If the topic selector is a valid URI Template, and that the string matches this URI
 * >    Template, the string matches the selector.
 * > 4. Otherwise the string does not match the selector.
 *
 * A selector without `{` can only match itself: {@link exactTopic} is set so a hub can index it
 * in a Map. A selector with `{` must be a valid template; where Mercure would quietly treat a
 * broken template as a plain string that nothing ever publishes to, this throws
 * {@link TopicSelectorError} so the subscriber learns of the typo.
 */
export class TopicSelector {
  readonly source: string;
  /** Set when the selector can only match itself: the key for an exact-topic index. */
  readonly exactTopic: string | undefined;
  /** The reserved selector `*`. */
  readonly matchesAll: boolean;
  /** A URI template, matched by its compiled matcher. */
  readonly isTemplate: boolean;
  readonly #template: TopicMatcher | undefined;

  private constructor(source: string, template: TopicMatcher | undefined) {
    this.source = source;
    this.matchesAll = source === '*';
    this.isTemplate = template !== undefined;
    this.exactTopic = this.matchesAll || this.isTemplate ? undefined : exactText(source);
    this.#template = template;
  }

  /**
   * Compiles a selector once; compiled selectors are immutable and shared, so compiling the
   * same selector for many subscribers is a Map lookup.
   * @throws TopicSelectorError when the selector contains `{` but is not a valid template.
   */
  static compile(selector: string): TopicSelector {
    const cached = cache.get(selector);
    if (cached !== undefined) return cached;
    const compiled = new TopicSelector(selector, compileTemplate(selector));
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(selector, compiled);
    return compiled;
  }

  matches(topic: string): boolean {
    if (this.matchesAll || topic === this.source || topic === this.exactTopic) return true;
    return this.#template?.matches(topic) === true;
  }
}

/** A URI template or a draft-08 URL pattern, compiled. */
type TopicMatcher = { matches(topic: string): boolean };

/** A draft-07 exact selector is its text; a tagged draft-08 exact matcher holds it. */
function exactText(selector: string): string {
  if (!isTagged(selector)) return selector;
  const compiled = compileTagged(selector);
  return 'exact' in compiled ? compiled.exact : selector;
}

function compileTemplate(selector: string): TopicMatcher | undefined {
  // Draft-08 matchers (topic-matcher.ts): a URL pattern, or exact text holding `{`.
  if (isTagged(selector)) {
    try {
      const compiled = compileTagged(selector);
      return 'pattern' in compiled ? compiled.pattern : undefined;
    } catch (error) {
      if (!(error instanceof UrlPatternSyntaxError)) throw error;
      const { match } = describeMatcher(selector);
      throw new TopicSelectorError(match, `not a valid URL pattern: ${error.message}`);
    }
  }
  // "If it's definitely not a URI template": nothing to compile, only exact matches.
  if (selector === '*' || !selector.includes('{')) return undefined;
  try {
    const matcher = compileUriTemplate(selector);
    // A valid template has one `{` per expression.
    const expressions = selector.split('{').length - 1;
    if (expressions > MAX_TEMPLATE_EXPRESSIONS) {
      throw new TopicSelectorError(
        selector,
        `${expressions} template expressions; at most ${MAX_TEMPLATE_EXPRESSIONS} are allowed`,
      );
    }
    return matcher;
  } catch (error) {
    if (error instanceof UriTemplateSyntaxError) {
      throw new TopicSelectorError(selector, `not a valid URI template: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Several selectors compiled once — a subscription's `topic` parameters, or the selectors of a
 * `mercure.publish` / `mercure.subscribe` claim. {@link matchesAny} is the per-update hot path:
 * a `*`, then one Set lookup per topic for the exact selectors, then the templates.
 */
export class SelectorSet {
  readonly selectors: readonly TopicSelector[];
  /** One of the selectors is `*`. */
  readonly matchesAll: boolean;
  /** The URI-template selectors, matched one by one. */
  readonly templates: readonly TopicSelector[];
  readonly #exact: ReadonlySet<string>;

  /** @throws TopicSelectorError for the first selector that is not valid. */
  constructor(selectors: readonly string[]) {
    this.selectors = selectors.map((selector) => TopicSelector.compile(selector));
    this.matchesAll = this.selectors.some((selector) => selector.matchesAll);
    const exact = new Set<string>();
    const templates: TopicSelector[] = [];
    for (const selector of this.selectors) {
      if (selector.exactTopic !== undefined) exact.add(selector.exactTopic);
      else if (selector.isTemplate) templates.push(selector);
    }
    this.#exact = exact;
    this.templates = templates;
  }

  /** True when one of the selectors is exactly `topic` (no template). */
  hasExact(topic: string): boolean {
    return this.#exact.has(topic);
  }

  /** True when some update could need a template or `*` test, not only exact lookups. */
  get hasPatterns(): boolean {
    return this.matchesAll || this.templates.length > 0;
  }

  /** True when at least one topic matches at least one selector. */
  matchesAny(topics: readonly string[]): boolean {
    if (topics.length === 0) return false;
    if (this.matchesAll) return true;
    for (const topic of topics) {
      if (this.#exact.has(topic)) return true;
      for (const template of this.templates) if (template.matches(topic)) return true;
    }
    return false;
  }

  /** The first selector that matches `topic`, or undefined. */
  find(topic: string): TopicSelector | undefined {
    return this.selectors.find((selector) => selector.matches(topic));
  }
}

/** A selector quoted for a one-line message: control characters escaped, long ones cut. */
function quote(selector: string): string {
  const shown = selector.length > 120 ? `${selector.slice(0, 117)}...` : selector;
  return JSON.stringify(shown).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
