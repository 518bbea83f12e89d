import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/http-error.js';
import { hubUrlOf } from '../http/hub-url.js';
import type { RequestTarget } from '../http/request-target.js';
import { sendJson } from '../http/respond.js';
import type { HubContext } from '../hub-context.js';
import { type SubscriptionsApiRequest, toHeaderBytes } from '../protocol/draft-07.js';
import { JSONLD_CONTEXT, subscriptionDocuments } from '../subscription-events.js';
import { SelectorSet, TopicSelectorError } from '../topic-selector.js';

const JSONLD = 'application/ld+json';

/**
 * `GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]]`: the active
 * subscriptions of this hub node, as JSON-LD.
 *
 * "To access to the URLs exposed by the web API, clients MUST be authorized [...] The
 * requested URL MUST match at least one of the topic selectors provided in the
 * `mercure.subscribe` key of the JWS." The URL compared is the path as requested, without
 * the query (a token passed as `?authorization=` must not change what it grants).
 */
export async function handleSubscriptionsApi(
  context: HubContext,
  request: IncomingMessage,
  response: ServerResponse,
  target: RequestTarget,
  api: SubscriptionsApiRequest,
  corsHeaders: Record<string, string>,
): Promise<void> {
  const principal = await context.auth.authenticate(
    { headers: request.headers, url: target.url, hubUrl: hubUrlOf(request, context.options) },
    'subscriber',
  );
  const claimed = principal?.claims.subscribe;
  if (!principal || !claimed || claimed.length === 0) {
    throw new HttpError(
      principal ? 403 : 401,
      'the subscriptions API needs a token whose mercure.subscribe claim matches this URL ' +
        `(e.g. "${target.path}" or "/.well-known/mercure/subscriptions{/topic}{/subscriber}")`,
    );
  }
  let granted: boolean;
  try {
    granted = new SelectorSet(claimed).matchesAny([target.path]);
  } catch (error) {
    if (error instanceof TopicSelectorError)
      throw new HttpError(403, `token claim mercure.subscribe: ${error.message}`);
    throw error;
  }
  if (!granted) {
    throw new HttpError(403, `the token's mercure.subscribe claim does not match ${target.path}`);
  }

  const lastEventID = await context.broker.lastEventId();
  // "As data returned by this web API is volatile, clients SHOULD validate that a response
  // coming from cache is still valid": the last event id changes whenever anything does.
  const etag = `"${toHeaderBytes(lastEventID).replaceAll('%', '%25').replaceAll('"', '%22')}"`;
  const headers = { ...corsHeaders, ETag: etag, 'Cache-Control': 'must-revalidate' };
  const ifNoneMatch = request.headers['if-none-match'];
  // Unquoted too: Mercure v0.x sent the id bare, and clients echo what they got.
  if (ifNoneMatch === etag || ifNoneMatch === toHeaderBytes(lastEventID)) {
    response.writeHead(304, headers);
    response.end();
    return;
  }

  if (api.subscriber !== undefined) {
    for (const subscriber of context.index.values()) {
      if (subscriber.id !== api.subscriber) continue;
      const [document] = subscriptionDocuments(subscriber, true, {
        context: true,
        topic: api.topic,
      });
      if (document) {
        sendJson(response, 200, { ...document, lastEventID }, headers, JSONLD);
        return;
      }
    }
    throw new HttpError(404, `no active subscription of ${api.subscriber} to ${api.topic ?? ''}`);
  }

  const subscriptions = [];
  for (const subscriber of context.index.values()) {
    subscriptions.push(...subscriptionDocuments(subscriber, true, { topic: api.topic }));
  }
  sendJson(
    response,
    200,
    {
      '@context': JSONLD_CONTEXT,
      id: target.path,
      type: 'Subscriptions',
      lastEventID,
      subscriptions,
    },
    headers,
    JSONLD,
  );
}
