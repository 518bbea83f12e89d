/**
 * "Private updates never reach a subscriber without a matching claim", as properties over
 * random selectors (exact topics, URI templates, `*`) and topics: first at the level of the
 * authorization decision (SubscribeGrant), then end to end over real HTTP once a hub runs.
 */
import { SelectorSet, SubscribeGrant } from '@tidings/hub';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expand,
  type Part,
  referenceRegExp,
  render,
  templateArb,
  valuesArb,
} from './topic-selector.support.js';

/** A selector with an independent oracle: exact comparison, or the reference regex of a template. */
interface ModelSelector {
  source: string;
  matches(topic: string): boolean;
  /** Expansions of a template, or the topic itself, to draw matching topics from. */
  examples: fc.Arbitrary<string>;
  /** How fast-check prints it in a counterexample. */
  [fc.toStringMethod]: () => string;
}

const EXACT_TOPICS = [
  'https://example.com/books/1',
  'https://example.com/books/2',
  'urn:tidings:news',
  'urn:tidings:sport',
  '/chat/42',
];

const exactSelectorArb: fc.Arbitrary<ModelSelector> = fc
  .constantFrom(...EXACT_TOPICS)
  .map((source) => ({
    source,
    [fc.toStringMethod]: () => `exact ${JSON.stringify(source)}`,
    matches: (topic: string) => topic === source,
    examples: fc.constant(source),
  }));

const templateSelectorArb: fc.Arbitrary<ModelSelector> = fc
  .oneof(
    templateArb,
    fc.constantFrom<Part[]>(
      [{ literal: 'https://example.com/books/' }, { operator: '', variables: [{ name: 'id' }] }],
      [{ literal: '/chat' }, { operator: '/', variables: [{ name: 'room', explode: true }] }],
      [{ literal: 'urn:tidings:' }, { operator: '+', variables: [{ name: 'rest' }] }],
    ),
  )
  .map((parts) => {
    const source = render(parts);
    const regex = referenceRegExp(parts);
    return {
      source,
      [fc.toStringMethod]: () => `template ${JSON.stringify(source)}`,
      // Draft-07 topic selector steps 2 and 3: equal strings, or a match of the template.
      matches: (topic: string) => topic === source || regex.test(topic),
      examples: valuesArb.map((values) => expand(parts, values)),
    };
  });

const starSelector: ModelSelector = {
  source: '*',
  [fc.toStringMethod]: () => 'star',
  matches: () => true,
  examples: fc.constantFrom(...EXACT_TOPICS),
};

const selectorArb = fc.oneof(
  { weight: 3, arbitrary: exactSelectorArb },
  { weight: 4, arbitrary: templateSelectorArb },
  { weight: 1, arbitrary: fc.constant(starSelector) },
);

interface Scenario {
  subscription: ModelSelector[];
  /** undefined: an anonymous subscriber or a token without `mercure.subscribe`. */
  claim: ModelSelector[] | undefined;
  update: { topics: string[]; private: boolean };
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    subscription: fc.array(selectorArb, { minLength: 1, maxLength: 3 }),
    claim: fc.option(fc.array(selectorArb, { maxLength: 3 }), { nil: undefined }),
  })
  .chain(({ subscription, claim }) => {
    // Topics likely to hit: examples of the subscription's and the claim's selectors, plus
    // unrelated ones; one canonical topic and up to two alternates.
    const pool = [...subscription, ...(claim ?? [])].map((s) => s.examples);
    const topicArb = fc.oneof(
      ...pool,
      // '{id}' is a topic that is also a template: it matches itself and the template '{id}'.
      fc.constantFrom(...EXACT_TOPICS, '{id}', '*', ''),
      fc.string({ maxLength: 8 }),
    );
    return fc.record({
      subscription: fc.constant(subscription),
      claim: fc.constant(claim),
      update: fc.record({
        topics: fc.array(topicArb, { minLength: 1, maxLength: 3 }),
        private: fc.boolean(),
      }),
    });
  });

const anyMatch = (selectors: readonly ModelSelector[], topics: readonly string[]) =>
  topics.some((topic) => selectors.some((selector) => selector.matches(topic)));

describe('SubscribeGrant.canReceive', () => {
  it('property: a private update goes only to a subscriber with a claim matching one of its topics', () => {
    let privateDelivered = 0;
    let privateWithheld = 0;
    fc.assert(
      fc.property(scenarioArb, ({ subscription, claim, update }) => {
        const grant = new SubscribeGrant(
          claim === undefined ? undefined : { subscribe: claim.map((s) => s.source) },
        );
        const selectors = new SelectorSet(subscription.map((s) => s.source));
        const delivered = grant.canReceive(update, selectors);
        const subscribed = anyMatch(subscription, update.topics);
        const authorized = claim !== undefined && anyMatch(claim, update.topics);
        if (update.private && delivered) {
          // The safety property itself, against the independent oracle.
          expect(authorized).toBe(true);
        }
        // And the whole decision: subscribed, and authorized when private.
        expect(delivered).toBe(subscribed && (!update.private || authorized));
        if (update.private && subscribed) {
          if (delivered) privateDelivered++;
          else privateWithheld++;
        }
      }),
      { numRuns: 3000 },
    );
    // The generator reaches both sides of the rule often enough for the property to mean something.
    expect(privateDelivered).toBeGreaterThan(100);
    expect(privateWithheld).toBeGreaterThan(100);
  });

  it('property: without a mercure.subscribe claim, no private update is ever delivered', () => {
    fc.assert(
      fc.property(scenarioArb, ({ subscription, update }) => {
        const selectors = new SelectorSet(subscription.map((s) => s.source));
        for (const grant of [
          new SubscribeGrant(undefined),
          new SubscribeGrant({}),
          new SubscribeGrant({ subscribe: [] }),
        ]) {
          expect(grant.canReceive({ ...update, private: true }, selectors)).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('uses canonical and alternate topics, not necessarily the same one, for subscription and claim', () => {
    // Draft-07's example: subscribed to a collection template, authorized by an alternate topic.
    const grant = new SubscribeGrant({ subscribe: ['https://example.com/users/dunglas/{?topic}'] });
    const subscription = new SelectorSet(['https://example.com/books/{id}']);
    const update = {
      topics: [
        'https://example.com/books/1',
        'https://example.com/users/dunglas/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1',
      ],
      private: true,
    };
    expect(grant.canReceive(update, subscription)).toBe(true);
    expect(grant.canReceive({ ...update, topics: [update.topics[0]!] }, subscription)).toBe(false);
    expect(
      grant.canReceive({ ...update, private: false, topics: [update.topics[0]!] }, subscription),
    ).toBe(true);
    expect(grant.canReceive({ ...update, topics: [update.topics[1]!] }, subscription)).toBe(false);
  });

  it('"*" in the claim grants every private update the subscription asks for', () => {
    const grant = new SubscribeGrant({ subscribe: ['*'] });
    expect(grant.canReceive({ topics: ['urn:x'], private: true }, new SelectorSet(['urn:x']))).toBe(
      true,
    );
    expect(grant.canReceive({ topics: ['urn:y'], private: true }, new SelectorSet(['urn:x']))).toBe(
      false,
    );
  });
});
