import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthError, claimSelectors, DRAFT_08_COOKIE, resourceMetadataUrl } from '../auth/index.js';
import { BrokerUnavailableError } from '../broker/broker.js';
import type { PresenceRecord } from '../broker/presence.js';
import { HttpError } from '../http/http-error.js';
import { hubUrlOf } from '../http/hub-url.js';
import type { RequestTarget } from '../http/request-target.js';
import { sendJson } from '../http/respond.js';
import type { HubContext } from '../hub-context.js';
import {
  EARLIEST,
  SUBSCRIPTIONS_PATH,
  type SubscriptionsApiRequest,
  toHeaderBytes,
} from '../protocol/draft-07.js';
import {
  draft08SubscriptionDocuments,
  JSONLD_CONTEXT,
  subscriptionDocuments,
} from '../subscription-events.js';
import { MATCHER_TYPES } from '../topic-matcher.js';
import { SelectorSet, TopicSelectorError } from '../topic-selector.js';

const JSONLD = 'application/ld+json';

/**
 * Every subscriber of every node sharing the broker (presence).
 *
 * @throws HttpError 503 with Retry-After when presence cannot be read (its backend is down).
 */
function listPresence(context: HubContext): Promise<PresenceRecord[]> {
  const presence = context.presence;
  if (presence === undefined) throw new Error('the subscriptions API is on without presence');
  return readable(presence.list());
}

/** The newest event id, for the ETag and the reconciliation cursor. */
async function lastEventIdOf(context: HubContext): Promise<string> {
  return (await readable(context.broker.head())).lastEventId ?? EARLIEST;
}

/** What the broker could not read right now becomes a 503 that says so. */
async function readable<T>(reading: Promise<T>): Promise<T> {
  try {
    return await reading;
  } catch (error) {
    if (!(error instanceof BrokerUnavailableError)) throw error;
    throw new HttpError(
      503,
      `the subscriptions API cannot read the hub's shared state right now: ${error.message}`,
      { 'Retry-After': '1' },
    );
  }
}

/**
 * `GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]]`: the active
 * subscriptions of every hub node sharing the broker, as JSON-LD.
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

  const lastEventID = await lastEventIdOf(context);
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

  const records = await listPresence(context);
  if (api.subscriber !== undefined) {
    for (const record of records) {
      if (record.subscriber !== api.subscriber) continue;
      const [document] = subscriptionDocuments(record, true, {
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
  for (const record of records) {
    subscriptions.push(...subscriptionDocuments(record, true, { topic: api.topic }));
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

/** Which part of the draft-08 subscriptions API a path asks for. */
export interface Draft08SubscriptionsApiRequest {
  readonly matchType: string | undefined;
  readonly match: string | undefined;
  readonly subscriber: string | undefined;
}

/**
 * Reads `/.well-known/mercure/subscriptions[/{match_type}/{match}[/{subscriber}]]` (draft-08
 * "Subscription API"). The bare collection is draft-08's when the request's token is a
 * draft-08 access token; otherwise undefined (the draft-07 API answers).
 *
 * @throws HttpError 400 on a malformed escape.
 */
export function parseDraft08SubscriptionsPath(
  rawPath: string,
  headers: IncomingMessage['headers'],
): Draft08SubscriptionsApiRequest | undefined {
  if (rawPath === SUBSCRIPTIONS_PATH) {
    const bearer = /^\s*bearer\s+(\S+)/i.exec(headers.authorization ?? '')?.[1];
    const cookie08 = headers.cookie?.includes(`${DRAFT_08_COOKIE}=`) === true;
    if (!cookie08 && (bearer === undefined || !looksLikeAccessToken(bearer))) return undefined;
    return { matchType: undefined, match: undefined, subscriber: undefined };
  }
  if (!rawPath.startsWith(`${SUBSCRIPTIONS_PATH}/`)) return undefined;
  const segments = rawPath.slice(SUBSCRIPTIONS_PATH.length + 1).split('/');
  if (segments.length < 2 || segments.length > 3 || segments.some((s) => s === ''))
    return undefined;
  if (!(MATCHER_TYPES as readonly string[]).includes(segments[0]!)) return undefined;
  const decode = (segment: string): string => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new HttpError(
        400,
        `malformed percent-encoding in the subscriptions API path: ${segment}`,
      );
    }
  };
  return {
    matchType: segments[0],
    match: decode(segments[1]!),
    subscriber: segments[2] === undefined ? undefined : decode(segments[2]),
  };
}

/** A token whose header says `typ: at+jwt` (only routing; the authenticator verifies it). */
function looksLikeAccessToken(token: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(token.split('.', 1)[0]!, 'base64url').toString('utf8'));
    return typeof header?.typ === 'string' && /^(application\/)?at\+jwt$/i.test(header.typ);
  } catch {
    return false;
  }
}

/**
 * The draft-08 subscriptions API: plain JSON (`application/json`), documents with `match` and
 * `match_type`, and the reconciliation cursor on the Link header: "every endpoint MUST carry
 * the reconciliation cursor as a `last-event-id` target attribute on the `rel="mercure"` Link
 * header". "The topic to authorize is the requested URL in relative form": a draft-08 token
 * must grant `subscribe` on the path (403 `insufficient_scope` otherwise). Lists the
 * subscriptions made in draft-08.
 */
export async function handleDraft08SubscriptionsApi(
  context: HubContext,
  request: IncomingMessage,
  response: ServerResponse,
  target: RequestTarget,
  api: Draft08SubscriptionsApiRequest,
  corsHeaders: Record<string, string>,
): Promise<void> {
  const hubUrl = hubUrlOf(request, context.options);
  const principal = await context.auth.authenticate(
    { headers: request.headers, url: target.url, draft: '08', hubUrl },
    'subscriber',
  );
  const claimed = principal?.claims.subscribe ?? [];
  if (principal === undefined || !claimSelectors(claimed).matchesAny([target.path])) {
    const error = new AuthError(
      principal ? 403 : 401,
      principal ? 'topic-not-allowed' : 'no-token',
      principal
        ? `no "subscribe" authorization detail of the token matches ${target.path}`
        : `the subscriptions API needs an access token granting "subscribe" on ${target.path} (e.g. {"match": "*"})`,
    );
    error.resourceMetadata = resourceMetadataUrl(hubUrl);
    throw error;
  }

  const lastEventId = await lastEventIdOf(context);
  const cursor = toHeaderBytes(lastEventId).replaceAll('"', '%22');
  const headers = {
    ...corsHeaders,
    Link: `<${hubUrl}>; rel="mercure"; last-event-id="${cursor}"; type="mercure"; content-type="application/json"`,
    ETag: `"${cursor.replaceAll('%', '%25')}"`,
    'Cache-Control': 'must-revalidate',
  };
  const documents = [];
  for (const record of await listPresence(context)) {
    if (!record.draft08) continue;
    for (const document of draft08SubscriptionDocuments(record, true)) {
      if (api.matchType !== undefined && document.match_type !== api.matchType) continue;
      if (api.match !== undefined && document.match !== api.match) continue;
      if (api.subscriber !== undefined && document.subscriber !== api.subscriber) continue;
      documents.push(document);
    }
  }
  if (api.subscriber !== undefined) {
    const [document] = documents;
    if (document === undefined) {
      throw new HttpError(404, `no active subscription of ${api.subscriber} to ${api.match}`);
    }
    sendJson(response, 200, document, headers);
    return;
  }
  sendJson(
    response,
    200,
    { id: target.path, type: 'subscriptions', subscriptions: documents },
    headers,
  );
}
