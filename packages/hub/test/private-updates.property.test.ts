/**
 * "Private updates never reach a subscriber without a matching claim", as properties over
 * random selectors (exact topics, URI templates, `*`) and topics: first at the level of the
 * authorization decision (SubscribeGrant), then end to end over real HTTP once a hub runs.
 */
import { createLogger, Hub, mintToken, SelectorSet, SubscribeGrant } from '@tidings/hub';
import { createParser, type ServerSentEvent } from '@tidings/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expand,
  type Part,
  referenceMatcher,
  render,
  templateArb,
  valuesArb,
} from './topic-selector.support.js';

/** A selector with an independent oracle: exact comparison, or the reference matcher of a template. */
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
    const reference = referenceMatcher(parts);
    return {
      source,
      [fc.toStringMethod]: () => `template ${JSON.stringify(source)}`,
      // Draft-07 topic selector steps 2 and 3: equal strings, or a match of the template.
      matches: (topic: string) => topic === source || reference(topic),
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

// ---------------------------------------------------------------------------------------------
// End to end: real hub, real HTTP, real SSE streams.
// ---------------------------------------------------------------------------------------------

const SECRET = 'private-updates-e2e-secret-of-32-bytes+';
const SENTINEL_PREFIX = 'urn:tidings-test:sentinel:';

interface Stream {
  events: ServerSentEvent[];
  /** Resolves when an event with this id arrives. */
  waitFor(id: string, timeoutMs: number): Promise<void>;
  close(): void;
}

/** A subscriber reading the hub's response with fetch and the protocol parser. */
async function openStream(url: string, token?: string): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: {
      accept: 'text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    signal: controller.signal,
  });
  if (response.status !== 200) {
    throw new Error(`subscription refused: ${response.status} ${await response.text()}`);
  }
  const events: ServerSentEvent[] = [];
  let notify: (() => void) | undefined;
  const parser = createParser({
    onEvent: (event) => {
      events.push(event);
      notify?.();
    },
  });
  const reading = (async () => {
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  })().catch(() => {});
  return {
    events,
    waitFor: (id, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`event ${id} did not arrive within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const check = () => {
          if (events.some((event) => event.lastEventId === id)) {
            clearTimeout(timer);
            resolve();
          }
        };
        notify = check;
        check();
      }),
    close: () => {
      controller.abort();
      void reading;
    },
  };
}

const subscriberArb = fc.record({
  subscription: fc.array(selectorArb, { minLength: 1, maxLength: 3 }),
  // undefined: anonymous; []: a token without a useful claim.
  claim: fc.option(fc.array(selectorArb, { maxLength: 2 }), { nil: undefined }),
});

const httpScenarioArb = fc
  .array(subscriberArb, { minLength: 2, maxLength: 4 })
  .chain((subscribers) => {
    const pool = subscribers
      .flatMap((s) => [...s.subscription, ...(s.claim ?? [])])
      .map((s) => s.examples);
    const topicArb = fc
      .oneof(...pool, fc.constantFrom(...EXACT_TOPICS))
      .filter((topic) => !topic.startsWith(SENTINEL_PREFIX));
    const updateArb = fc.record({
      topics: fc.array(topicArb, { minLength: 1, maxLength: 2 }),
      private: fc.boolean(),
      data: fc.string({ maxLength: 20 }),
    });
    return fc.record({
      subscribers: fc.constant(subscribers),
      updates: fc.array(updateArb, { minLength: 2, maxLength: 6 }),
    });
  });

describe('over HTTP: private updates never reach a subscriber without a matching claim', () => {
  let hub: Hub;
  let hubUrl: string;
  let publisherToken: string;
  beforeAll(async () => {
    hub = await Hub.create({
      logger: createLogger({ level: 'silent' }),
      processMetrics: false,
      dashboard: false,
      auth: {
        publisherKey: { kind: 'secret', secret: SECRET },
        subscriberKey: { kind: 'secret', secret: SECRET },
        anonymous: true,
        allowedOrigins: [],
      },
    });
    const { port } = await hub.listen(0, '127.0.0.1');
    hubUrl = `http://127.0.0.1:${port}/.well-known/mercure`;
    publisherToken = await mintToken({ secret: SECRET, publish: ['*'] });
  });
  afterAll(() => hub?.close());

  async function publish(fields: [string, string][]): Promise<void> {
    const response = await fetch(hubUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${publisherToken}` },
      body: new URLSearchParams(fields),
    });
    if (response.status !== 200)
      throw new Error(`publish refused: ${response.status} ${await response.text()}`);
  }

  it('property: each subscriber stream gets exactly the updates it subscribed to and may see', async () => {
    let run = 0;
    let privateWithheld = 0;
    let privateDelivered = 0;
    await fc.assert(
      fc.asyncProperty(httpScenarioArb, async ({ subscribers, updates }) => {
        run++;
        const sentinel = `${SENTINEL_PREFIX}${run}`;
        const streams: Stream[] = [];
        try {
          for (const subscriber of subscribers) {
            const url = new URL(hubUrl);
            // Every subscriber also listens to a public sentinel published last: once it
            // arrives, every earlier update has been delivered or withheld (one stream is in order).
            for (const selector of [...subscriber.subscription.map((s) => s.source), sentinel]) {
              url.searchParams.append('topic', selector);
            }
            const token =
              subscriber.claim === undefined
                ? undefined
                : await mintToken({
                    secret: SECRET,
                    subscribe: subscriber.claim.map((s) => s.source),
                  });
            streams.push(await openStream(url.href, token));
          }
          const ids = updates.map((_, i) => `run-${run}-update-${i}`);
          for (const [i, update] of updates.entries()) {
            const fields: [string, string][] = update.topics.map((topic) => ['topic', topic]);
            fields.push(['id', ids[i]!], ['data', update.data]);
            if (update.private) fields.push(['private', 'on']);
            await publish(fields);
          }
          await publish([
            ['topic', sentinel],
            ['id', sentinel],
            ['data', 'end'],
          ]);
          for (const [s, subscriber] of subscribers.entries()) {
            const stream = streams[s]!;
            await stream.waitFor(sentinel, 5000);
            const got = stream.events
              .map((event) => event.lastEventId)
              .filter((id) => id !== sentinel);
            const expected = ids.filter((_, i) => {
              const update = updates[i]!;
              const subscribed = anyMatch(subscriber.subscription, update.topics);
              const authorized =
                subscriber.claim !== undefined && anyMatch(subscriber.claim, update.topics);
              if (update.private && subscribed) {
                if (authorized) privateDelivered++;
                else privateWithheld++;
              }
              return subscribed && (!update.private || authorized);
            });
            // No private update without a claim (and nothing lost, nothing twice).
            expect(got).toEqual(expected);
          }
        } finally {
          for (const stream of streams) stream.close();
        }
      }),
      { numRuns: 25 },
    );
    expect(privateWithheld).toBeGreaterThan(0);
    expect(privateDelivered).toBeGreaterThan(0);
  });
});
