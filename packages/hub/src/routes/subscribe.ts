import type { EventStream } from '@tidings/server';
import type { Principal } from '../auth/index.js';
import type { ReplayFrom } from '../broker/broker.js';
import type { PresenceRecord } from '../broker/presence.js';
import { createUpdateId } from '../event-id.js';
import { clientAddress } from '../http/client-address.js';
import { HttpError } from '../http/http-error.js';
import type { HubRequest } from '../http/hub-request.js';
import { hubUrlOf } from '../http/hub-url.js';
import type { RequestTarget } from '../http/request-target.js';
import type { HubContext } from '../hub-context.js';
import { subscribeDraft } from '../protocol/draft.js';
import { EARLIEST, parseSubscribeRequest, toHeaderBytes } from '../protocol/draft-07.js';
import {
  MERCURE_LAST_EVENT_ID,
  parseSubscribeRequest as parseDraft08Subscribe,
} from '../protocol/draft-08.js';
import type { FormField } from '../protocol/form-urlencoded.js';
import { type StartedReplay, startReplay, writeReplay } from '../replay.js';
import { Subscriber } from '../subscriber.js';
import {
  draft08SubscriptionDocuments,
  markDraft08,
  presenceRecord,
  SUBSCRIPTION_EVENT_TYPE,
  subscriptionDocuments,
} from '../subscription-events.js';
import type { StreamOpening } from './stream-opening.js';

/**
 * "The hub MAY require subscribers [...] to be authenticated" and answers with events for
 * every topic matching the `topic` selectors. Order of the steps:
 *
 * 1. parse and check the request (400), take a connection slot (503/429), authenticate
 *    (401/403), compile the selectors (400) — any failure answers before the stream opens,
 *    and nothing was registered;
 * 2. register the subscriber so live updates are held for it from this instant;
 * 3. when `Last-Event-ID`/`lastEventID` was sent, take the join point (the log's head, read
 *    after step 2) and the first page of the replay, open the stream with the `Last-Event-ID`
 *    response header, write the replay up to the join point, then the held updates after it,
 *    then go live (`fan-out.ts`): no gap, no duplicate, however far the feed lags.
 */
export async function handleSubscribe(
  context: HubContext,
  request: HubRequest,
  fields: readonly FormField[],
  target: RequestTarget,
  corsHeaders: Record<string, string>,
  opening: StreamOpening,
): Promise<void> {
  const { options, logger } = context;
  // Draft-07 or draft-08, by the request's parameters; both parse to the same request.
  const draft = subscribeDraft(fields, options.mercureDrafts);
  const hubUrl = hubUrlOf(request, options);
  const parsed =
    draft === '08'
      ? parseDraft08Subscribe(fields, request.headers, options, hubUrl)
      : parseSubscribeRequest(target.query, request.headers, options);
  const address = clientAddress(request, options.trustProxy);
  context.limiter.acquire(address);
  let subscriber: Subscriber;
  let principal: Principal | undefined;
  try {
    principal = await context.auth.authenticate(
      { headers: request.headers, url: target.url, draft, hubUrl },
      'subscriber',
    );
    subscriber = new Subscriber({
      selectors: context.compilations.selectorSet(parsed.selectors),
      grant: context.compilations.grant(principal?.claims),
      payload: principal?.claims.payload,
      address,
    });
  } catch (error) {
    context.limiter.release(address);
    throw error;
  }

  if (draft === '08') markDraft08(subscriber);
  try {
    // Subscription events go out before the subscriber is registered, as Mercure does: a
    // subscriber does not receive its own arrival live.
    if (options.subscriptions) await announce(context, presenceRecord(subscriber), true);
    context.register(subscriber);

    const replay =
      parsed.lastEventId === undefined
        ? undefined
        : await startReplay(context.broker, replayFrom(parsed.lastEventId));
    if (opening.gone) {
      context.unregister(subscriber);
      return;
    }
    // Shutdown began while the replay was read: do not open a stream it would miss.
    if (context.closing) {
      throw new HttpError(503, 'the hub is shutting down; reconnect in a moment', {
        'Retry-After': '1',
      });
    }
    // Dropped while the replay was read: it fell behind already, or the log lost data.
    if (subscriber.closed) {
      throw new HttpError(503, 'the hub could not join this stream to the live feed: retry', {
        'Retry-After': '1',
      });
    }

    // "When the request contains a `Last-Event-ID` HTTP header or a `lastEventID` query
    // parameter the hub MUST set a `Last-Event-ID` header on the HTTP response."
    // Draft-08: "the hub MUST set a `Mercure-Last-Event-ID` field on the HTTP response".
    const headers = replay
      ? {
          ...corsHeaders,
          [draft === '08' ? MERCURE_LAST_EVENT_ID : 'Last-Event-ID']: toHeaderBytes(
            replay.first.precedingId ?? EARLIEST,
          ),
        }
      : corsHeaders;
    const stream = opening.open(headers);
    subscriber.stream = stream;
    // The only closure kept per connection: it holds the context and the subscriber.
    stream.onClose(() => context.unregister(subscriber));
    if (principal?.expiresAt !== undefined) {
      subscriber.cancelExpiry = context.expiry.schedule(principal.expiresAt, () => {
        logger.debug({ subscriber: subscriber.id }, 'token expired: closing the stream');
        subscriber.stream?.close();
      });
    }
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        {
          subscriber: subscriber.id,
          topics: parsed.selectors,
          lastEventId: parsed.lastEventId,
          address,
        },
        'subscriber joined',
      );
    }
    await goLive(context, subscriber, stream, replay);
  } catch (error) {
    context.unregister(subscriber);
    throw error;
  }
}

/** Where a `Last-Event-ID` asks the replay to start: "`earliest`" means all that is kept. */
function replayFrom(lastEventId: string): ReplayFrom {
  return lastEventId === EARLIEST ? { kind: 'earliest' } : { kind: 'id', id: lastEventId };
}

/** Writes the replay, then what was held meanwhile (after the join point only), then goes live. */
async function goLive(
  context: HubContext,
  subscriber: Subscriber,
  stream: EventStream,
  replay: StartedReplay | undefined,
): Promise<void> {
  if (replay && !(await writeReplay(context.broker, replay, subscriber, stream, context.metrics))) {
    // The rest of the replay is gone: close so the client resumes from the last id it got,
    // and learns from the `Last-Event-ID` it gets back whether anything was lost.
    if (!stream.closed) context.fanOut.disconnect(subscriber, context.options.shutdownRetryMs);
    return;
  }
  await context.fanOut.release(subscriber, stream, replay?.upTo);
}

/**
 * Publishes the subscription events of a subscriber arriving (`active`) or leaving: of this
 * node, or of a node that stopped without saying so (its presence record).
 */
export function announce(
  context: HubContext,
  record: PresenceRecord,
  active: boolean,
): Promise<void> {
  // Draft-08 subscribers get draft-08 documents, under the reserved event type `mercure`.
  const draft08 = record.draft08;
  const documents = draft08
    ? draft08SubscriptionDocuments(record, active)
    : subscriptionDocuments(record, active, { context: true });
  const updates = documents.map((document) =>
    context.publishOwn({
      topics: [document.id],
      data: JSON.stringify(document, null, 2),
      // "the subscription update MUST be marked as `private`"
      private: true,
      id: createUpdateId(),
      ...(draft08 ? { type: SUBSCRIPTION_EVENT_TYPE } : {}),
    }),
  );
  return Promise.all(updates).then(
    () => undefined,
    (error: unknown) => {
      context.logger.warn(
        { err: error, subscriber: record.subscriber },
        'subscription event not published',
      );
    },
  );
}
