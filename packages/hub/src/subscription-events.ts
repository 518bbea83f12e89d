import type { PresenceRecord } from './broker/presence.js';
import { SUBSCRIPTIONS_PATH, subscriptionTopic } from './protocol/draft-07.js';
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

/** What presence keeps of a subscriber: its id, draft, matchers and payload. */
export function presenceRecord(subscriber: Subscriber): PresenceRecord {
  return {
    subscriber: subscriber.id,
    draft08: isDraft08(subscriber),
    // A draft-08 matcher shows as the matcher its subscriber sent (topic-matcher.ts).
    matchers: subscriber.selectors.selectors.map((selector) => describeMatcher(selector.source)),
    ...(subscriber.payload !== undefined && subscriber.payload !== null
      ? { payload: subscriber.payload }
      : {}),
  };
}

/**
 * The subscriptions of a subscriber, one per topic selector, as subscription events and
 * the subscriptions API describe them. `id` is also the topic of the subscription event:
 * "it MUST be the same value as the subscription update's topic".
 */
export function subscriptionDocuments(
  record: PresenceRecord,
  active: boolean,
  options: { context?: boolean; topic?: string } = {},
): SubscriptionDocument[] {
  const documents: SubscriptionDocument[] = [];
  for (const { match: topic } of record.matchers) {
    if (options.topic !== undefined && options.topic !== topic) continue;
    const document: SubscriptionDocument = {
      ...(options.context ? { '@context': JSONLD_CONTEXT } : {}),
      id: subscriptionTopic(topic, record.subscriber),
      type: 'Subscription',
      subscriber: record.subscriber,
      topic,
      active,
    };
    if (record.payload !== undefined && record.payload !== null) {
      document.payload = record.payload;
    }
    documents.push(document);
  }
  return documents;
}

/** Subscribers that subscribed in draft-08: their subscription events take the draft-08 form. */
const draft08Subscribers = new WeakSet<Subscriber>();

export function markDraft08(subscriber: Subscriber): void {
  draft08Subscribers.add(subscriber);
}

export function isDraft08(subscriber: Subscriber): boolean {
  return draft08Subscribers.has(subscriber);
}

/**
 * "The hub MUST dispatch subscription events with the update `type` field — the SSE `event`
 * property — set to the reserved value `mercure`."
 */
export const SUBSCRIPTION_EVENT_TYPE = 'mercure';

/** A draft-08 subscription document: plain JSON, `match` and `match_type`. */
export interface Draft08SubscriptionDocument {
  id: string;
  type: 'subscription';
  match_type: string;
  match: string;
  subscriber: string;
  active: boolean;
  payload?: unknown;
}

/**
 * The draft-08 subscription documents of a subscriber, one per matcher. "The topic of these
 * updates MUST be the path of the hub's URL followed by an expansion of
 * `/subscriptions/{match_type}/{match}/{subscriber}`", each variable "percent-encoded exactly
 * once during expansion" (RFC 6570 simple expansion: all but unreserved characters encoded).
 */
export function draft08SubscriptionDocuments(
  record: PresenceRecord,
  active: boolean,
): Draft08SubscriptionDocument[] {
  return record.matchers.map(({ matchType, match }) => {
    const document: Draft08SubscriptionDocument = {
      id: `${SUBSCRIPTIONS_PATH}/${matchType}/${expand(match)}/${expand(record.subscriber)}`,
      type: 'subscription',
      match_type: matchType,
      match,
      subscriber: record.subscriber,
      active,
    };
    if (record.payload !== undefined && record.payload !== null) {
      document.payload = record.payload;
    }
    return document;
  });
}

/** RFC 6570 simple string expansion: everything but `A-Z a-z 0-9 - . _ ~` percent-encoded. */
function expand(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
