import { matcherSelector } from '../topic-matcher.js';
import { TopicSelector, TopicSelectorError } from '../topic-selector.js';

/** How a selector is read: a draft-07 selector (exact, `*` or URI template) or a draft-08 matcher. */
export type SelectorKind = 'selector' | 'exact' | 'urlpattern';

/** Which rule decided, in the order the hub tries them. */
export type SelectorRule = 'wildcard' | 'exact' | 'uri-template' | 'urlpattern' | 'invalid';

export interface SelectorExplanation {
  matches: boolean;
  rule: SelectorRule;
  /** One sentence: why it matches, or why not. */
  reason: string;
}

/**
 * Whether `selector` selects `topic`, decided by the hub's own compiled matcher (the one fan-out
 * and auth use), with the rule that decided and, when it does not match, where it goes wrong.
 */
export function explainSelector(
  selector: string,
  topic: string,
  kind: SelectorKind,
  hubUrl: string,
): SelectorExplanation {
  const source = kind === 'selector' ? selector : matcherSelector(kind, selector, hubUrl);
  let compiled: TopicSelector;
  try {
    compiled = TopicSelector.compile(source);
  } catch (error) {
    if (error instanceof TopicSelectorError) {
      return { matches: false, rule: 'invalid', reason: error.message };
    }
    throw error;
  }
  const matches = compiled.matches(topic);
  if (compiled.matchesAll) {
    return { matches, rule: 'wildcard', reason: 'the selector * matches every topic' };
  }
  if (kind === 'urlpattern') {
    return {
      matches,
      rule: 'urlpattern',
      reason: matches
        ? `the topic, resolved against the hub URL ${hubUrl}, matches the URL pattern`
        : `the topic, resolved against the hub URL ${hubUrl}, does not match the URL pattern (each part — protocol, host, path, search — must match; :name matches one path segment, * any text)`,
    };
  }
  if (topic === selector) {
    return {
      matches,
      rule: 'exact',
      reason: compiled.isTemplate
        ? 'the topic is the template itself, character for character (a selector always matches its own text)'
        : 'the topic is the selector, character for character',
    };
  }
  if (!compiled.isTemplate) {
    return { matches, rule: 'exact', reason: exactMismatch(selector, topic, kind) };
  }
  return {
    matches,
    rule: 'uri-template',
    reason: matches
      ? 'the topic is one expansion of the URI template'
      : templateMismatch(selector, topic),
  };
}

function exactMismatch(selector: string, topic: string, kind: SelectorKind): string {
  const at = firstDifference(selector, topic);
  const what =
    kind === 'selector'
      ? 'a selector without { is not a URI template: it must equal the topic'
      : 'an exact matcher must equal the topic';
  return `not the same text: ${what}, and they differ at character ${at + 1} (${describeAt(selector, at)} in the selector, ${describeAt(topic, at)} in the topic)`;
}

function templateMismatch(template: string, topic: string): string {
  const literal = template.slice(0, template.indexOf('{'));
  if (!topic.startsWith(literal)) {
    const at = firstDifference(literal, topic);
    return `the template's fixed start ${JSON.stringify(literal)} is not how the topic starts: they differ at character ${at + 1}`;
  }
  if (/\{[^+#}]/.test(template) && /[/?#]/.test(topic.slice(literal.length))) {
    return 'the topic does not fit the template: a simple {name} expands to text without reserved characters such as / ? #, so it cannot span them; {+name} can';
  }
  return 'the topic does not fit the template: the text after its fixed start is not an expansion of its expressions and the literal text between them';
}

function firstDifference(a: string, b: string): number {
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  return at;
}

function describeAt(text: string, at: number): string {
  return at < text.length ? JSON.stringify(text[at]) : 'the end';
}
