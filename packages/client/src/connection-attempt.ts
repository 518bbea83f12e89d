import type { EventStreamParser } from '@tidings/protocol';
import type { Clock } from './clock.js';
import { describeError } from './describe-error.js';
import { ConnectionError, StallError } from './errors.js';
import { lastEventIdHeaderValue } from './last-event-id.js';
import { isEventStream } from './mime.js';
import { isBrowsingContext } from './page-context.js';
import {
  type BodyReader,
  describeValue,
  discardBody,
  isReadableBody,
  NotBytesError,
  readBody,
} from './response-body.js';

/** Headers, or a function that gives them for each request (a token refreshed on reconnect). */
export type HeadersSource = HeadersInit | (() => HeadersInit | Promise<HeadersInit>);

/** One request for an event stream, from request to the end of its body. */
export interface AttemptOptions {
  readonly url: string;
  readonly fetch: typeof fetch;
  readonly method: string;
  readonly headers: HeadersSource | undefined;
  /**
   * The client's `Accept`, `Cache-Control` and `Last-Event-ID` replace any the caller gives
   * (EventSource). Otherwise a caller's own are kept (`connect()`).
   */
  readonly standardHeaders: boolean;
  /** The request body, made anew for each attempt. */
  readonly body?: () => BodyInit | null | undefined | Promise<BodyInit | null | undefined>;
  readonly credentials: RequestCredentials;
  /** Aborting it ends the attempt (`aborted`); the attempt aborts it when it is over. */
  readonly request: AbortController;
  /** Gets the body; its `lastEventId` is what the request sends as `Last-Event-ID`. */
  readonly parser: EventStreamParser;
  readonly clock: Clock;
  /** Give up on a connection that delivers no byte for this many ms (`stall`). */
  readonly stallTimeout?: number | undefined;
  /** A 200 `text/event-stream` response, before its body is read. Throw to refuse it. */
  readonly onOpen: (response: Response) => void | Promise<void>;
  /** After each chunk went into the parser: a promise holds the next read (backpressure). */
  readonly afterChunk?: () => Promise<void> | undefined;
}

/** How an attempt ended. Every way it can end is here: an attempt never throws. */
export type AttemptOutcome =
  /** The request signal aborted: the client closed or paused the connection. */
  | { readonly kind: 'aborted' }
  /** The request could not be made: the headers or body function threw. */
  | { readonly kind: 'unprepared'; readonly error: Error }
  /** fetch failed (`during: 'request'`) or the body broke (`'response'`). */
  | {
      readonly kind: 'network';
      readonly during: 'request' | 'response';
      readonly error: ConnectionError;
      readonly received: boolean;
    }
  | { readonly kind: 'stall'; readonly error: StallError; readonly received: boolean }
  /** "HTTP 204 No Content ... prevent the user agent from reconnecting". */
  | { readonly kind: 'no-content'; readonly response: Response }
  /** Not a 200 `text/event-stream`; the body is left for the caller to read or discard. */
  | {
      readonly kind: 'refused';
      readonly reason: 'status' | 'content-type';
      readonly response: Response;
      readonly contentType: string | null;
    }
  /** `onOpen` threw. */
  | { readonly kind: 'rejected'; readonly error: Error; readonly response: Response }
  /** The fetch's answer cannot be read as a response at all; asking again would not help. */
  | { readonly kind: 'unusable'; readonly error: ConnectionError }
  /** The server ended the body. `received`: any bytes came (the connection was healthy). */
  | { readonly kind: 'end'; readonly received: boolean };

/**
 * Makes one connection attempt: builds the request, fetches, checks the response, announces
 * it, and feeds its body into the parser until it ends. This is the one place both
 * `EventSource` and `connect()` do so; they differ only in what they make of the outcome.
 */
export async function attemptConnection(options: AttemptOptions): Promise<AttemptOutcome> {
  try {
    return await attempt(options);
  } catch (error) {
    // Only a fetch that broke its contract in a way not foreseen below gets here. It must
    // still end as an error the user hears of, never as an unhandled rejection.
    options.request.abort();
    return unusable(`the response from ${options.url} could not be used: ${describeError(error)}`);
  }
}

async function attempt(options: AttemptOptions): Promise<AttemptOutcome> {
  const { url, request } = options;
  const { signal } = request;
  let init: RequestInit;
  try {
    init = await requestInit(options);
  } catch (error) {
    return { kind: 'unprepared', error: toError(error) };
  }
  if (signal.aborted) return { kind: 'aborted' };

  let response: Response;
  try {
    response = await options.fetch(url, init);
  } catch (error) {
    if (signal.aborted) return { kind: 'aborted' };
    return {
      kind: 'network',
      during: 'request',
      error: new ConnectionError(`could not connect to ${url}: ${describeError(error)}`, {
        cause: error,
      }),
      received: false,
    };
  }
  const problem = unusableResponse(response);
  if (problem !== undefined) {
    discardBody((response as { body?: unknown } | null)?.body);
    request.abort();
    return unusable(`the response from ${url} cannot be read: ${problem}`);
  }
  if (signal.aborted) {
    discardBody(response.body);
    return { kind: 'aborted' };
  }
  if (response.status === 204) {
    discardBody(response.body);
    return { kind: 'no-content', response };
  }
  // "if res's status is not 200, or if res's `Content-Type` is not `text/event-stream`, then
  // fail the connection."
  const contentType = response.headers.get('content-type');
  if (response.status !== 200 || !isEventStream(contentType)) {
    return {
      kind: 'refused',
      reason: response.status !== 200 ? 'status' : 'content-type',
      response,
      contentType,
    };
  }
  // Checked before the connection is announced: one that cannot be read is not open.
  const body: unknown = response.body;
  if (body !== null && !isReadableBody(body)) {
    discardBody(body);
    request.abort();
    return unusable(
      `the response from ${url} cannot be read: its body is not a ReadableStream or an async iterable of bytes (got ${describeValue(body)}); a custom fetch must answer like fetch (or node-fetch)`,
    );
  }
  try {
    await options.onOpen(response);
  } catch (error) {
    discardBody(body);
    if (signal.aborted) return { kind: 'aborted' };
    request.abort();
    return { kind: 'rejected', error: toError(error), response };
  }
  if (signal.aborted) {
    discardBody(body);
    return { kind: 'aborted' };
  }
  // A null body is one that ended before it began (fetch gives one for HEAD).
  if (body === null) return { kind: 'end', received: false };
  return read(readBody(body as object, signal), options);
}

async function read(reader: BodyReader, options: AttemptOptions): Promise<AttemptOutcome> {
  const { request, parser, clock, stallTimeout, afterChunk } = options;
  const { signal } = request;
  let stalled = false;
  let received = false;
  let stallTimer: unknown;
  let outcome: AttemptOutcome = { kind: 'aborted' };
  // Whoever aborts (a close(), a pause) leaves no stall timer behind, at once.
  signal.addEventListener('abort', () => clock.clearTimeout(stallTimer), { once: true });
  try {
    for (;;) {
      // The stall timer runs only while waiting for the network, never while waiting for
      // a slow consumer, so backpressure is not mistaken for a dead connection.
      if (stallTimeout !== undefined) {
        stallTimer = clock.setTimeout(() => {
          stalled = true;
          request.abort();
        }, stallTimeout);
      }
      const chunk = await reader.read();
      clock.clearTimeout(stallTimer);
      if (chunk === undefined || signal.aborted) break;
      received = true;
      parser.feed(chunk);
      const caughtUp = afterChunk?.();
      if (caughtUp !== undefined) await caughtUp;
      if (signal.aborted) break;
    }
    outcome = signal.aborted ? { kind: 'aborted' } : { kind: 'end', received };
  } catch (error) {
    clock.clearTimeout(stallTimer);
    if (error instanceof NotBytesError) {
      outcome = unusable(`the response from ${options.url} cannot be read: ${error.message}`);
    } else if (!signal.aborted) {
      outcome = {
        kind: 'network',
        during: 'response',
        error: new ConnectionError(
          `the connection to ${options.url} was lost: ${describeError(error)}`,
          { cause: error },
        ),
        received,
      };
    }
  } finally {
    // "If the file ends in the middle of an event, before the final empty line, the
    // incomplete event is not dispatched", and neither is its id committed.
    parser.end();
    reader.cancel();
    // Ends the response (and with it the socket) whichever way the loop ended.
    request.abort();
  }
  if (stalled) {
    return { kind: 'stall', error: new StallError(stallTimeout ?? 0), received };
  }
  return outcome;
}

async function requestInit(options: AttemptOptions): Promise<RequestInit> {
  const custom = typeof options.headers === 'function' ? await options.headers() : options.headers;
  const headers = new Headers(custom);
  const own = options.standardHeaders;
  if (own || !headers.has('Accept')) headers.set('Accept', 'text/event-stream');
  // Cache mode no-store makes fetch itself add `Cache-Control: no-cache`. Outside a page the
  // header is set here too, for fetch implementations that skip that step; in a page it
  // would force a CORS preflight on cross-origin requests.
  if (!isBrowsingContext() && (own || !headers.has('Cache-Control'))) {
    headers.set('Cache-Control', 'no-cache');
  }
  // "If the EventSource object's last event ID string is not the empty string, then set
  // (`Last-Event-ID`, last event ID string, encoded as UTF-8) in request's header list."
  const lastEventId = options.parser.lastEventId;
  if (lastEventId !== '') headers.set('Last-Event-ID', lastEventIdHeaderValue(lastEventId));
  else if (own) headers.delete('Last-Event-ID');

  const body = await options.body?.();
  const init: RequestInit & { duplex?: 'half' } = {
    method: options.method,
    headers,
    cache: 'no-store',
    credentials: options.credentials,
    mode: 'cors',
    redirect: 'follow',
    signal: options.request.signal,
  };
  if (body !== undefined) init.body = body;
  // Streaming request bodies need half duplex in fetch (Node insists on saying so).
  if (body instanceof ReadableStream) init.duplex = 'half';
  return init;
}

/** What makes a fetch's answer unusable as a Response, or undefined when it is usable. */
function unusableResponse(response: unknown): string | undefined {
  if (typeof response !== 'object' || response === null) {
    return `the fetch given resolved to ${describeValue(response)}, not a Response`;
  }
  const { status, headers } = response as { status?: unknown; headers?: unknown };
  if (typeof status !== 'number') {
    return `its status is ${describeValue(status)}, not a number; a custom fetch must resolve to a Response`;
  }
  if (typeof (headers as Headers | undefined)?.get !== 'function') {
    return 'its headers have no headers.get(); a custom fetch must give a Headers object';
  }
  return undefined;
}

function unusable(message: string): AttemptOutcome {
  return { kind: 'unusable', error: new ConnectionError(message) };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
