import { compileUrlPattern, type UrlPatternMatcher } from './url-pattern-matcher.js';

/**
 * Draft-08 topic matchers as selector strings, so that one compiled-selector machinery
 * (TopicSelector, SelectorSet, the subscriber index, shared compilations) serves both drafts
 * and fan-out, history and auth never ask which draft a client spoke.
 *
 * Draft-08: "This document defines two matcher types, `exact` and `urlpattern`." A draft-07
 * selector is its own string: exact, `*`, or an RFC 6570 template when it holds `{`. A
 * draft-08 matcher that means the same as a draft-07 selector is written the same — an
 * exact matcher without `{`, and the wildcard — so both drafts share its index entry.
 * Otherwise it is tagged, with NUL separators: no selector a client can send contains NUL
 * (control characters are refused in every matcher, topic and claim), so a tag can never be
 * forged or confused with a draft-07 selector.
 * - `\0exact\0<match>`: an exact matcher holding `{`, which draft-07 would read as a template
 *   ("The hub MUST NOT resolve relative values [...] and MUST NOT perform Unicode or IRI
 *   normalization": exact means byte for byte);
 * - `\0urlpattern\0<hub URL>\0<pattern>`: a URL pattern and the base it resolves against
 *   ("When evaluating a relative pattern or a relative topic, the hub MUST use the hub's URL
 *   as the base URL").
 */
export type MatcherType = 'exact' | 'urlpattern';

export const MATCHER_TYPES: readonly MatcherType[] = ['exact', 'urlpattern'];

/** "The matcher value `*` is reserved as a wildcard that matches every topic." */
export const WILDCARD = '*';

const TAG = '\u0000';

/** The selector string of a draft-08 matcher. */
export function matcherSelector(type: MatcherType, match: string, hubUrl: string): string {
  // "It is recognized before the matcher type is resolved, so it has this meaning regardless
  // of matcher type."
  if (match === WILDCARD) return WILDCARD;
  if (type === 'exact') return match.includes('{') ? `${TAG}exact${TAG}${match}` : match;
  return `${TAG}urlpattern${TAG}${hubUrl}${TAG}${match}`;
}

/** A selector as draft-08 documents show it: the matcher type and the matcher as given. */
export function describeMatcher(selector: string): { matchType: MatcherType; match: string } {
  if (!isTagged(selector)) return { matchType: 'exact', match: selector };
  const parts = selector.split(TAG);
  return parts[1] === 'urlpattern'
    ? { matchType: 'urlpattern', match: parts[3]! }
    : { matchType: 'exact', match: parts[2]! };
}

/** Whether a selector string is a tagged draft-08 matcher (compiled by {@link compileTagged}). */
export function isTagged(selector: string): boolean {
  if (selector.charCodeAt(0) !== 0) return false;
  const parts = selector.split(TAG);
  return (
    (parts[1] === 'exact' && parts.length === 3) ||
    (parts[1] === 'urlpattern' && parts.length === 4)
  );
}

/**
 * What a tagged selector matches: its exact text, or its compiled URL pattern.
 * @throws UrlPatternSyntaxError for a malformed pattern.
 */
export function compileTagged(
  selector: string,
): { exact: string } | { pattern: UrlPatternMatcher } {
  const parts = selector.split(TAG);
  if (parts[1] === 'urlpattern') return { pattern: compileUrlPattern(parts[3]!, parts[2]!) };
  return { exact: parts[2]! };
}
