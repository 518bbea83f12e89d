import { type IncomingHttpHeaders, type ServerResponse, STATUS_CODES } from 'node:http';
import { sendJson, sendText } from './respond.js';

/**
 * An RFC 9457 problem details document: "`type`: a URI reference that identifies the problem
 * type [...] When this member is not present, its value is assumed to be `about:blank`";
 * with `about:blank`, "the title SHOULD be the same as the recommended HTTP status phrase".
 * `detail` is the hub's one-line reason: "a human-readable explanation specific to this
 * occurrence of the problem".
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
}

export const PROBLEM_JSON = 'application/problem+json';

export function problemDetails(status: number, detail: string): ProblemDetails {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail };
}

/**
 * Whether a refusal should be a problem+json document rather than plain text. JSON when the
 * request's `Accept` admits it at least as much as text: an explicit JSON type, or a
 * wildcard such as the `*\/*` that HTTP libraries send by default (Symfony's HttpClient lifts
 * `title` and `detail` from such a body into its exception, so the reason reaches the
 * person). Text when the client prefers text (`text/plain`, or an EventSource asking for
 * `text/event-stream`) or sent no `Accept` at all (the simplest answer for the simplest
 * clients).
 */
export function prefersProblemJson(headers: IncomingHttpHeaders): boolean {
  const accept = headers.accept;
  if (accept === undefined || accept.trim() === '') return false;
  let json = -1;
  let jsonSpecific = 0;
  let text = -1;
  let textSpecific = 0;
  for (const range of accept.split(',')) {
    const [mediaRange = '', ...parameters] = range.split(';');
    const media = mediaRange.trim().toLowerCase();
    let q = 1;
    for (const parameter of parameters) {
      const [name, value] = parameter.split('=').map((part) => part.trim());
      if (name?.toLowerCase() === 'q') q = Number(value);
    }
    if (!(q > 0)) continue;
    const jsonRank = jsonSpecificity(media);
    if (jsonRank > jsonSpecific || (jsonRank === jsonSpecific && jsonRank > 0 && q > json)) {
      json = q;
      jsonSpecific = jsonRank;
    }
    const textRank = textSpecificity(media);
    if (textRank > textSpecific || (textRank === textSpecific && textRank > 0 && q > text)) {
      text = q;
      textSpecific = textRank;
    }
  }
  if (json <= 0) return false;
  // RFC 9110 §12.5.1: the most specific range that matches decides a type's quality.
  if (json !== text) return json > text;
  return jsonSpecific >= textSpecific;
}

/** 3: names a JSON type; 2: `application/*`; 1: `*\/*`; 0: does not match JSON. */
function jsonSpecificity(media: string): number {
  if (
    media === PROBLEM_JSON ||
    media === 'application/json' ||
    /^application\/[^/]*\+json$/.test(media)
  )
    return 3;
  if (media === 'application/*') return 2;
  return media === '*/*' ? 1 : 0;
}

/** 3: `text/plain` or `text/event-stream`; 2: `text/*`; 1: `*\/*`; 0: does not match text. */
function textSpecificity(media: string): number {
  if (media === 'text/plain' || media === 'text/event-stream') return 3;
  if (media === 'text/*') return 2;
  return media === '*/*' ? 1 : 0;
}

/**
 * Answers a refused request: the status, the extra headers (`WWW-Authenticate`,
 * `Retry-After`, ...) and the one-line reason, as problem+json or as text by the `Accept`
 * header. A response already under way is only ended.
 */
export function sendRefusal(
  response: ServerResponse,
  requestHeaders: IncomingHttpHeaders,
  status: number,
  reason: string,
  headers: Record<string, string>,
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  if (prefersProblemJson(requestHeaders)) {
    sendJson(response, status, problemDetails(status, reason), headers, PROBLEM_JSON, false);
  } else {
    sendText(response, status, `${reason}\n`, headers);
  }
}
