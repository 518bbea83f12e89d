import { subscriptionTopic } from './protocol/draft-07.js';
import type { Subscriber } from './subscriber.js';
import { describeMatcher } from './topic-matcher.js';

/** "`@context`: the fixed value `https://mercure.rocks/`." */
export const JSONLD_CONTEXT = 'https://mercure.rocks/';

/** One subscription (one topic selector of one subscriber) as a JSON-LD document. */
export interface SubscriptionDocument {
  '@context'?: string;
  id: string;
  type: 'Subscription';
  subscriber: string;
  topic: string;
  active: boolean;
  payload?: unknown;
  lastEventID?: string;
}

/**
 * The subscriptions of a subscriber, one per topic selector, as subscription events and
 * the subscriptions API describe them. `id` is also the topic of the subscription event:
 * "it MUST be the same value as the subscription update's topic".
 */
export function subscriptionDocuments(
  subscriber: Subscriber,
  active: boolean,
  options: { context?: boolean; topic?: string } = {},
): SubscriptionDocument[] {
  const documents: SubscriptionDocument[] = [];
  for (const selector of subscriber.selectors.selectors) {
    // A draft-08 matcher shows as the matcher its subscriber sent (topic-matcher.ts).
    const topic = describeMatcher(selector.source).match;
    if (options.topic !== undefined && options.topic !== topic) continue;
    const document: SubscriptionDocument = {
      ...(options.context ? { '@context': JSONLD_CONTEXT } : {}),
      id: subscriptionTopic(topic, subscriber.id),
      type: 'Subscription',
      subscriber: subscriber.id,
      topic,
      active,
    };
    if (subscriber.payload !== undefined && subscriber.payload !== null) {
      document.payload = subscriber.payload;
    }
    documents.push(document);
  }
  return documents;
}
