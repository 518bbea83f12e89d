/**
 * Mercure draft-07 (draft-dunglas-mercure-07, as the Mercure hub v0.x serves it): how
 * subscribe and publish requests are read and checked. Every rule about the shape of a
 * request lives here, so draft-08 (`match`, `last_event_id`, ...) can sit beside this file
 * with the same exports and the routes can pick one per request.
 *
 * Parsing throws {@link HttpError} with the status and a one-line reason; nothing has been
 * published or changed when it throws.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from '../http/http-error.js';
import { type FormField, parseFormUrlEncoded, parseQueryString } from './form-urlencoded.js';

/** "The URL of the hub MUST be the "well-known" [RFC5785] fixed path `/.well-known/mercure`." */
export const HUB_PATH = '/.well-known/mercure';
export const SUBSCRIPTIONS_PATH = `${HUB_PATH}/subscriptions`;

/**
 * "The reserved value `earliest` can be used to hint the hub to send all updates it has for
 * the subscribed topics." Also the `Last-Event-ID` response value when no event precedes
 * the first one sent.
 */
export const EARLIEST = 'earliest';

export interface RequestLimits {
  /** Topic selectors in one subscription (`topic` query parameters). */
  maxTopicsPerSubscription: number;
  /** Topics (canonical + alternates) in one update. */
  maxTopicsPerUpdate: number;
  /**
   * Characters in one topic or topic selector. Matching costs (selectors) × (topic length):
   * an unbounded topic lets one publish stall the hub.
   */
  maxTopicLength: number;
}

export interface SubscribeRequest {
  /** Topic selectors in request order, duplicates removed. */
  readonly selectors: readonly string[];
  /**
   * From the `Last-Event-ID` header, else the `lastEventID` query parameter; `undefined`
   * when neither was sent (then no `Last-Event-ID` response header either).
   */
  readonly lastEventId: string | undefined;
}

/**
 * Reads a subscription request: `GET /.well-known/mercure?topic=...&topic=...`.
 *
 * @param query the raw query string of the request target, without the `?`.
 */
export function parseSubscribeRequest(
  query: string,
  headers: IncomingHttpHeaders,
  limits: RequestLimits,
): SubscribeRequest {
  const fields = parseQueryString(query);
  const selectors: string[] = [];
  const seen = new Set<string>();
  let queryLastEventId: string | undefined;
  for (const [name, value] of fields) {
    if (name === 'topic') {
      if (seen.has(value)) continue;
      assertNoControlCharacters(value, 'topic selector');
      assertTopicLength(value, 'topic selector', limits);
      seen.add(value);
      selectors.push(value);
      if (selectors.length > limits.maxTopicsPerSubscription) {
        throw new HttpError(
          400,
          `too many "topic" parameters: at most ${limits.maxTopicsPerSubscription} per subscription`,
        );
      }
    } else if (name === 'lastEventID' && queryLastEventId === undefined) {
      queryLastEventId = value;
    }
  }
  if (selectors.length === 0) {
    throw new HttpError(
      400,
      'missing "topic" query parameter: subscribe with ?topic=<topic or URI template>, or ?topic=* for everything',
    );
  }
  return { selectors, lastEventId: resumePoint(headers, queryLastEventId) };
}

/**
 * Where a subscriber resumes, for both drafts: "If both the `Last-Event-ID` HTTP header and the
 * `lastEventID` [draft-08: `last_event_id`] query parameter are present, the HTTP header MUST
 * take precedence." An empty header counts as absent, as an EventSource that never received an
 * id sends none.
 */
export function resumePoint(
  headers: IncomingHttpHeaders,
  queryLastEventId: string | undefined,
): string | undefined {
  const header = headers['last-event-id'];
  const headerLastEventId =
    typeof header === 'string' && header !== '' ? fromHeaderBytes(header) : undefined;
  return headerLastEventId ?? (queryLastEventId !== '' ? queryLastEventId : undefined);
}

/**
 * A header value as text. EventSource sends the last event id "encoded as UTF-8"; Node hands
 * header bytes over one char per byte, so non-ASCII ids are decoded here.
 */
function fromHeaderBytes(value: string): string {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) return Buffer.from(value, 'latin1').toString('utf8');
  }
  return value;
}

/** An id as a header value: its UTF-8 bytes one char each, as Node writes header bytes. */
export function toHeaderBytes(value: string): string {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) return Buffer.from(value, 'utf8').toString('latin1');
  }
  return value;
}

export interface PublishRequest {
  readonly topics: readonly string[];
  readonly data: string;
  readonly private: boolean;
  /** `undefined`: the hub generates one ("If omitted, the hub MUST generate a valid IRI"). */
  readonly id: string | undefined;
  readonly type: string | undefined;
  readonly retry: number | undefined;
}

export type PublishBodyKind = 'form' | 'json';

/**
 * Decides how a publish body is read from its `Content-Type`, before reading it.
 *
 * "The request MUST be encoded using the `application/x-www-form-urlencoded` format";
 * JSON is accepted too, as a convenience for callers without a form encoder.
 *
 * @throws HttpError 415 for anything else.
 */
export function publishBodyKind(contentType: string | undefined): PublishBodyKind {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded') return 'form';
  if (mediaType === 'application/json') return 'json';
  throw new HttpError(
    415,
    `unsupported Content-Type "${contentType ?? ''}": publish with application/x-www-form-urlencoded (or application/json)`,
  );
}

/**
 * Reads a publish request body (`POST /.well-known/mercure`) and checks every field.
 * Authorization (may this publisher use these topics?) is checked by the caller afterwards.
 */
export function parsePublishRequest(
  kind: PublishBodyKind,
  body: Uint8Array,
  limits: RequestLimits,
): PublishRequest {
  const request =
    kind === 'form' ? readForm(parseFormUrlEncoded(body, 'request body')) : readJson(body);
  return validatePublishRequest(request, limits);
}

function readForm(fields: FormField[]): PublishRequest {
  const topics: string[] = [];
  let data: string | undefined;
  let isPrivate = false;
  let id: string | undefined;
  let type: string | undefined;
  let retry: string | undefined;
  // Repeated single-valued fields: the first wins, as Mercure reads them.
  for (const [name, value] of fields) {
    switch (name) {
      case 'topic':
        topics.push(value);
        break;
      case 'data':
        data ??= value;
        break;
      case 'private':
        // "if this name is set, the update MUST NOT be dispatched to subscribers not
        // authorized to receive it [...] it CAN contain any value including an empty string."
        isPrivate = true;
        break;
      case 'id':
        id ??= value;
        break;
      case 'type':
        type ??= value;
        break;
      case 'retry':
        retry ??= value;
        break;
      default:
      // Other fields are ignored, as a form may carry more than the hub reads.
    }
  }
  return {
    topics,
    data: data ?? '',
    private: isPrivate,
    id: id === '' ? undefined : id,
    type: type === '' ? undefined : type,
    retry: retry === undefined || retry === '' ? undefined : parseRetry(retry),
  };
}

const JSON_FIELDS = new Set(['topic', 'data', 'private', 'id', 'type', 'retry']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON form of a publish: `{"topic": "t" | ["t", ...], "data": "..." | any JSON value,
 * "private": true, "id": "...", "type": "...", "retry": 1000}`. Unlike a form, unknown keys
 * are refused: a JSON caller who writes `"topics"` made a typo, and silently publishing
 * nothing would hide it.
 */
function readJson(body: Uint8Array): PublishRequest {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpError(400, 'malformed JSON body: not valid UTF-8');
  }
  assertJsonDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `malformed JSON body: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'JSON body must be an object like {"topic": "...", "data": "..."}');
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (!JSON_FIELDS.has(key)) {
      throw new HttpError(
        400,
        `unknown JSON field "${key}": expected topic, data, private, id, type or retry`,
      );
    }
  }
  const topic = object.topic;
  const topics =
    typeof topic === 'string'
      ? [topic]
      : Array.isArray(topic)
        ? topic
        : topic === undefined
          ? []
          : null;
  if (topics === null || !topics.every((t): t is string => typeof t === 'string')) {
    throw new HttpError(400, '"topic" must be a string or an array of strings');
  }
  const data = object.data;
  return {
    topics,
    // Non-string data is sent as its JSON text: the common case of publishing an object.
    data: data === undefined ? '' : typeof data === 'string' ? data : JSON.stringify(data),
    private: jsonBoolean(object.private, 'private'),
    id: jsonOptionalString(object.id, 'id'),
    type: jsonOptionalString(object.type, 'type'),
    retry: object.retry === undefined ? undefined : jsonRetry(object.retry),
  };
}

/**
 * How deep a JSON body may nest, counting the body object itself: serde_json's default.
 * Non-string `data` is serialised again for the wire, and `JSON.stringify` recurses once per
 * level: `{"data": [[[[...]]]]}` ten thousand deep would overflow the stack and fail the
 * request with a 500 instead of saying what is wrong with it.
 */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Refuses a JSON text that nests deeper than {@link MAX_JSON_DEPTH}, before it is parsed.
 * Brackets inside strings do not count; a malformed text is left for `JSON.parse` to name.
 *
 * @throws HttpError 400 naming the limit.
 */
function assertJsonDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      // An escape covers the next character, so `\"` does not end the string.
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new HttpError(
          400,
          `JSON body nests deeper than ${MAX_JSON_DEPTH} levels: flatten "data", or send it as a JSON string`,
        );
      }
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth--;
    }
  }
}

function jsonBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new HttpError(400, `"${name}" must be true or false`);
  return value;
}

function jsonOptionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `"${name}" must be a string`);
  return value;
}

function jsonRetry(value: unknown): number {
  if (typeof value === 'string') return parseRetry(value);
  if (!isRetry(value)) throw invalidRetry(value);
  return value;
}

function isRetry(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function invalidRetry(value: unknown): HttpError {
  // JSON.stringify quotes strings and shows objects, but would write NaN and Infinity as null.
  const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
  return new HttpError(400, `"retry" must be a non-negative integer of milliseconds, got ${shown}`);
}

/** @throws HttpError 400 naming the limit when a topic or selector is longer than it. */
function assertTopicLength(value: string, what: string, limits: RequestLimits): void {
  if (value.length <= limits.maxTopicLength) return;
  throw new HttpError(
    400,
    `${what} of ${value.length} characters is longer than the hub's limit of ${limits.maxTopicLength} (--max-topic-length): use a shorter IRI`,
  );
}

/** The SSE spec's rule for `retry`: "If the field value consists of only ASCII digits". */
function parseRetry(value: string): number {
  if (!/^[0-9]{1,15}$/.test(value)) throw invalidRetry(value);
  return Number(value);
}

/**
 * Checks an update's fields by the rules a publish request is held to (topics present and
 * well-formed, none in the hub's namespace, `id` and `type` safe for the wire, `retry` a
 * whole number of milliseconds).
 *
 * @throws HttpError 400 or 403 with the reason.
 */
export function validatePublishRequest(
  request: PublishRequest,
  limits: RequestLimits,
): PublishRequest {
  const { topics } = request;
  if (topics.length === 0) {
    throw new HttpError(400, 'missing "topic" field: every update needs at least one topic');
  }
  if (topics.length > limits.maxTopicsPerUpdate) {
    throw new HttpError(
      400,
      `too many "topic" fields: ${topics.length}, at most ${limits.maxTopicsPerUpdate} per update`,
    );
  }
  for (const topic of topics) {
    assertNoControlCharacters(topic, 'topic');
    assertTopicLength(topic, 'topic', limits);
    if (isReservedTopic(topic)) {
      throw new HttpError(
        403,
        `topic "${topic}" is in the hub's reserved namespace ${HUB_PATH}/: only the hub publishes there (subscription events)`,
      );
    }
  }
  const { id, type } = request;
  if (id !== undefined) {
    // "The provided ID MUST NOT start with the `#` character."
    if (id.charCodeAt(0) === 0x23) {
      throw new HttpError(
        400,
        `"id" must not start with "#" (got ${JSON.stringify(id)}): ids starting with "#" are the hub's own`,
      );
    }
    assertSingleLine(id, 'id');
    // The id comes back in the `Last-Event-ID` response header, where control characters
    // are not allowed: refused now rather than failing every resume later.
    assertNoControlCharacters(id, '"id"');
  }
  if (type !== undefined) assertSingleLine(type, 'type');
  // The parsers hand over whole numbers already; an application calling Hub.publish may not.
  if (request.retry !== undefined && !isRetry(request.retry)) throw invalidRetry(request.retry);
  return request;
}

/**
 * CR, LF or NUL in `id` or `type` would end the SSE field early and let a publisher write
 * extra fields, or a whole extra event, into every subscriber's stream.
 */
function assertSingleLine(value: string, name: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x00) {
      throw new HttpError(
        400,
        `"${name}" must not contain CR, LF or NUL (found at index ${i}): it would break the event stream`,
      );
    }
  }
}

/**
 * Topics are identifiers, and a control character in one is always a mistake (and a way to
 * make log lines and JSON documents lie). Draft-08 writes the rule down: topics "MUST NOT
 * contain C0 (U+0000–U+001F) or C1 (U+0080–U+009F) control characters or U+007F (DEL)".
 */
function assertNoControlCharacters(value: string, what: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      throw new HttpError(
        400,
        `${what} ${quote(value)} contains a control character (U+${c.toString(16).toUpperCase().padStart(4, '0')} at index ${i})`,
      );
    }
  }
}

/** Quoted for a one-line message: every control character escaped (JSON leaves DEL and C1 raw). */
function quote(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Whether a topic addresses the hub's own namespace. It is resolved against the hub's URL
 * first, so `/x/../.well-known/mercure/...` and absolute URLs on any host are caught too:
 * a publisher must not be able to forge a subscription event.
 */
export function isReservedTopic(topic: string): boolean {
  let path: string;
  try {
    path = new URL(topic, 'http://hub.invalid/').pathname;
  } catch {
    path = topic;
  }
  return path === HUB_PATH || path.startsWith(`${HUB_PATH}/`);
}

/** Which part of the subscriptions API a path asks for. */
export interface SubscriptionsApiRequest {
  /** The topic selector of `/subscriptions/{topic}`, unescaped. */
  readonly topic: string | undefined;
  /** The subscriber id of `/subscriptions/{topic}/{subscriber}`, unescaped. */
  readonly subscriber: string | undefined;
}

/**
 * Reads `/.well-known/mercure/subscriptions[/{topic}[/{subscriber}]]` from the raw
 * (still percent-encoded) request path; `undefined` when the path is not one of those.
 * Segments are unescaped the way {@link queryEscape} escaped them.
 *
 * @throws HttpError 400 on a malformed escape.
 */
export function parseSubscriptionsPath(rawPath: string): SubscriptionsApiRequest | undefined {
  if (rawPath === SUBSCRIPTIONS_PATH) return { topic: undefined, subscriber: undefined };
  if (!rawPath.startsWith(`${SUBSCRIPTIONS_PATH}/`)) return undefined;
  const segments = rawPath.slice(SUBSCRIPTIONS_PATH.length + 1).split('/');
  if (segments.length > 2 || segments.some((segment) => segment === '')) return undefined;
  const [topic, subscriber] = segments.map(queryUnescape);
  return { topic, subscriber };
}

function queryUnescape(segment: string): string {
  // A form parser unescapes exactly like Go's url.QueryUnescape ('+' is a space) as long as
  // there is no '&' or '=' to split on, so escape those first.
  const fields = parseFormUrlEncoded(
    Buffer.from(segment.replaceAll('&', '%26').replaceAll('=', '%3D'), 'latin1'),
    'subscriptions API path',
  );
  return fields[0]?.[0] ?? '';
}

/**
 * The topic of a subscription event: "an expansion of
 * `/.well-known/mercure/subscriptions/{topic}/{subscriber}`" whose reserved characters
 * "MUST be percent encoded". Escaped like Go's `url.QueryEscape`, as the Mercure hub does,
 * so clients that build these topics for Mercure build the same ones for us.
 */
export function subscriptionTopic(selector: string, subscriberId: string): string {
  return `${SUBSCRIPTIONS_PATH}/${queryEscape(selector)}/${queryEscape(subscriberId)}`;
}

/** Go's `url.QueryEscape`: everything but `A-Z a-z 0-9 - _ . ~` escaped, space as `+`. */
export function queryEscape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]|%20/g, (c) =>
    c === '%20' ? '+' : `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
