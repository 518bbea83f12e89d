/**
 * Mercure draft-08 (draft-dunglas-mercure-08, Mercure 1.0): how subscribe requests are read
 * and checked, beside draft-07.ts. Both produce the same {@link SubscribeRequest} — selector
 * strings (topic-matcher.ts) and a resume point — so fan-out, history and auth never know
 * which draft a client spoke. Publish requests keep draft-07's fields; draft-08 adds the
 * reserved values checked by {@link assertDraft08Publish}.
 *
 * Parsing throws {@link HttpError} with the status and a one-line reason; nothing has been
 * registered or changed when it throws.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { HttpError } from '../http/http-error.js';
import { assertDeclaredLength, readBody } from '../http/read-body.js';
import type { RequestTarget } from '../http/request-target.js';
import { MATCHER_TYPES, type MatcherType, matcherSelector } from '../topic-matcher.js';
import type { PublishRequest, RequestLimits, SubscribeRequest } from './draft-07.js';
import { EARLIEST, resumePoint } from './draft-07.js';
import { type FormField, parseFormUrlEncoded, parseQueryString } from './form-urlencoded.js';

/**
 * "the hub MUST set a `Mercure-Last-Event-ID` field on the HTTP response. This document
 * defines the `Mercure-Last-Event-ID` response field [...] rather than reusing
 * `Last-Event-ID`, whose registration defines request semantics only."
 */
export const MERCURE_LAST_EVENT_ID = 'Mercure-Last-Event-ID';

/** "the hub MUST also accept the last event ID in a query parameter named `last_event_id`." */
export const LAST_EVENT_ID_PARAM = 'last_event_id';

/** The subscribe parameter of each matcher type: `match` (exact), `match_<type>`. */
const PARAM_TYPES = new Map<string, MatcherType>([
  ['match', 'exact'],
  ...MATCHER_TYPES.map((type) => [`match_${type}`, type] as [string, MatcherType]),
]);

/**
 * Whether a parameter name is in the reserved `match` namespace: "a name equal to `match`, or
 * beginning with `match` under an ASCII case-insensitive comparison".
 */
export function isMatchParam(name: string): boolean {
  return name.length >= 5 && name.slice(0, 5).toLowerCase() === 'match';
}

/**
 * Reads a draft-08 subscription: `?match=<topic>&match_urlpattern=<pattern>&last_event_id=...`
 * (the query, merged with a form body for `QUERY` requests).
 *
 * @param hubUrl the hub's URL, the base of relative URL patterns and topics.
 */
export function parseSubscribeRequest(
  fields: readonly FormField[],
  headers: IncomingHttpHeaders,
  limits: RequestLimits,
  hubUrl: string,
): SubscribeRequest {
  const selectors: string[] = [];
  const seen = new Set<string>();
  let queryLastEventId: string | undefined;
  let matchers = 0;
  for (const [name, value] of fields) {
    if (isMatchParam(name)) {
      const type = PARAM_TYPES.get(name);
      // "The names of topic matcher query parameters are case-sensitive. A request using a
      // parameter name in the reserved `match` namespace [...] that does not correspond to a
      // matcher type supported by the hub MUST be rejected with a 400."
      if (type === undefined) {
        throw new HttpError(
          400,
          `unknown matcher parameter ${JSON.stringify(name)}: use match (or match_exact) for exact topics, match_urlpattern for URL patterns (names are case-sensitive)`,
        );
      }
      assertValidMatcher(value, name);
      if (++matchers > limits.maxTopicsPerSubscription) {
        throw new HttpError(
          400,
          `too many matcher parameters: at most ${limits.maxTopicsPerSubscription} per subscription`,
        );
      }
      // "Hubs MAY deduplicate subscriptions that have identical matcher type and pattern."
      const selector = matcherSelector(type, value, hubUrl);
      if (seen.has(selector)) continue;
      seen.add(selector);
      selectors.push(selector);
    } else if (name === LAST_EVENT_ID_PARAM && queryLastEventId === undefined) {
      // "`last_event_id` is single-valued: if it appears in both, the hub MUST use the value
      // from the query component" — the query's fields come first.
      queryLastEventId = value;
    }
  }
  if (selectors.length === 0) {
    throw new HttpError(
      400,
      'missing matcher: subscribe with ?match=<topic>, ?match_urlpattern=<URL pattern>, or ?match=* for everything',
    );
  }
  return { selectors, lastEventId: resumePoint(headers, queryLastEventId) };
}

/**
 * "The value of each topic matcher query parameter [...] MUST NOT contain C0 (U+0000–U+001F)
 * or C1 (U+0080–U+009F) control characters, U+007F, or Unicode format characters (general
 * category `Cf`)." Also the rule for topics and ids.
 */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\p{Cf}]/u;

function assertValidMatcher(value: string, name: string): void {
  if (value === '') throw new HttpError(400, `empty ${name} parameter: give a topic or a pattern`);
  assertNoForbiddenCharacters(value, name);
}

export function assertNoForbiddenCharacters(value: string, what: string): void {
  const found = FORBIDDEN.exec(value);
  if (found) {
    const code = found[0].codePointAt(0)!;
    throw new HttpError(
      400,
      `${what} ${JSON.stringify(value).slice(0, 120)} contains a control or format character (U+${code.toString(16).toUpperCase().padStart(4, '0')} at index ${found.index})`,
    );
  }
}

/**
 * The publish rules draft-08 adds, applied when the publisher presents a draft-08 access
 * token: "Every topic value MUST NOT be exactly `*`"; an `id` "MUST NOT be the reserved value
 * `earliest`" nor contain format characters; "hubs MUST reject a publish request whose `type`
 * is `mercure` with a 400", so that no one forges a subscription event.
 */
export function assertDraft08Publish(request: PublishRequest): void {
  for (const topic of request.topics) {
    if (topic === '*') {
      throw new HttpError(
        400,
        'topic "*" is reserved for the wildcard matcher and cannot be published to',
      );
    }
    assertNoForbiddenCharacters(topic, 'topic');
  }
  if (request.id === EARLIEST) {
    throw new HttpError(
      400,
      '"id" must not be "earliest": it is reserved for resuming from the start',
    );
  }
  if (request.id !== undefined) assertNoForbiddenCharacters(request.id, '"id"');
  if (request.type === 'mercure') {
    throw new HttpError(
      400,
      '"type" must not be "mercure": that event type is reserved for the subscription events the hub sends',
    );
  }
  if (request.type !== undefined) assertNoForbiddenCharacters(request.type, '"type"');
}

/**
 * The parameters of a `QUERY` subscription: "the hub MUST then take the union of the two:
 * every name/value pair from the query component and every pair from the body". The query's
 * pairs come first, so a `last_event_id` in both is the query's. Only draft-08 defines this.
 *
 * @throws HttpError 415 for a body that is not a form, 413 for one too large, 400 for a
 *   draft-07 parameter.
 */
export async function queryMethodFields(
  request: IncomingMessage,
  target: RequestTarget,
  maxBodyBytes: number,
  bodyTimeoutMs: number,
): Promise<FormField[]> {
  const type = (request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new HttpError(
      415,
      `a QUERY subscription carries its matchers as application/x-www-form-urlencoded, not "${request.headers['content-type'] ?? ''}"`,
    );
  }
  assertDeclaredLength(request, maxBodyBytes);
  const fields = [
    ...parseQueryString(target.query),
    ...parseFormUrlEncoded(await readBody(request, maxBodyBytes, bodyTimeoutMs), 'request body'),
  ];
  const legacy = fields.find(([name]) => name === 'topic' || name === 'lastEventID');
  if (legacy !== undefined) {
    throw new HttpError(
      400,
      `"${legacy[0]}" is draft-07, which subscribes with GET only: a QUERY subscription uses match, match_urlpattern and last_event_id`,
    );
  }
  return fields;
}
