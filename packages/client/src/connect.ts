import { createParser, type EventStreamParser, type ServerSentEvent } from '@tidings/protocol';
import { type BackoffOptions, backoffDelay, retryAfterDelay } from './backoff.js';
import { type Clock, sleep, systemClock } from './clock.js';
import { describeError } from './describe-error.js';
import {
  ConnectionError,
  EventDataError,
  ResponseError,
  RetryLimitError,
  StallError,
} from './errors.js';
import type { HeadersSource } from './event-source.js';
import { lastEventIdHeaderValue } from './last-event-id.js';
import { isEventStream } from './mime.js';
import { baseUrl, isBrowsingContext } from './page-context.js';
import { isPageHidden, onVisibilityChange, whenVisible } from './visibility.js';

/** Event type → the type of its `data`, e.g. `{ token: { text: string }; done: null }`. */
export type EventMap = Record<string, unknown>;

/** One event read from the stream. */
export interface StreamEvent<Type extends string = string, Data = string> {
  /** The `event:` field, `'message'` when the block had none. */
  readonly type: Type;
  /** The `data:` lines joined with LF; decoded when the `parse` option says so. */
  readonly data: Data;
  /**
   * The last event ID after this event: its own `id:` or one from an earlier event (ids
   * persist), `''` when none was ever set. This is what a reconnection sends back.
   */
  readonly lastEventId: string;
}

/** The union of the events of an {@link EventMap}, discriminated by `type`. */
export type StreamEventOf<E extends EventMap> = {
  [K in keyof E & string]: StreamEvent<K, E[K]>;
}[keyof E & string];

/**
 * Why a connection ended:
 * - `end`: the server ended the response (for a POST, usually "the reply is complete");
 * - `network`: the request failed or the connection broke;
 * - `stall`: nothing arrived for `stallTimeout` ms;
 * - `status` / `content-type`: the response was not a 200 `text/event-stream`;
 * - `rejected`: the `onopen` hook threw;
 * - `resume`: the page became hidden and the stream would pause (`pauseWhenHidden`).
 */
export type DisconnectReason =
  | 'end'
  | 'network'
  | 'stall'
  | 'status'
  | 'content-type'
  | 'rejected'
  | 'resume';

/** What {@link ConnectOptions.shouldReconnect} decides on. */
export interface ReconnectContext {
  readonly reason: DisconnectReason;
  /** The failure; undefined for a clean `end` and for `resume`. */
  readonly error: Error | undefined;
  /** The response that caused `status`, `content-type` or `rejected`. */
  readonly response: Response | undefined;
  /** Failed attempts in a row, this one included; 0 when a working stream ended. */
  readonly failures: number;
  /** The request method, upper-case. */
  readonly method: string;
  /** What the next request will send as `Last-Event-ID` (`''`: nothing). */
  readonly lastEventId: string;
  /** The delay the backoff (or the server's `Retry-After`) chose, in ms. */
  readonly delay: number;
  /**
   * The default judgement of the reason alone, the method aside: true for `end`, `network`,
   * `stall`, `resume` and the statuses 408, 429, 500, 502, 503 and 504.
   */
  readonly retryable: boolean;
}

/** `true`: reconnect after `context.delay`; a number: after that many ms; `false`: stop. */
export type ReconnectDecision = boolean | number;

/** A request body, or a function that makes a new one for every attempt (streams are one-shot). */
export type BodySource = BodyInit | null | (() => BodyInit | null | Promise<BodyInit | null>);

export interface ConnectOptions<E extends EventMap = Record<string, string>> {
  /** Default `GET`, or `POST` when a `body` or `json` is given. */
  method?: string;
  /** Extra headers; a function is called again for every attempt (a refreshed token). */
  headers?: HeadersSource;
  /** The request body (needs a method other than GET/HEAD). */
  body?: BodySource;
  /** Sent as the body with `JSON.stringify` and `Content-Type: application/json`. */
  json?: unknown;
  /** Aborting it closes the connection; iteration then ends cleanly. */
  signal?: AbortSignal;
  /** A `Last-Event-ID` for the first request too: resume a stream seen before a reload. */
  lastEventId?: string;
  /** The fetch to use. */
  fetch?: typeof fetch;
  /** fetch's `credentials`; default `'same-origin'`. */
  credentials?: RequestCredentials;
  /** How `data` is decoded: `'text'` (default), `'json'`, or your function. */
  parse?: 'text' | 'json' | ((data: string, type: string) => unknown);
  /** The delays between attempts. */
  backoff?: BackoffOptions;
  /**
   * How many attempts in a row may fail before giving up with a {@link RetryLimitError}.
   * Only failures that would be retried count: a refused request ends with its own error.
   * Default: no limit.
   */
  maxAttempts?: number;
  /**
   * Decides whether to reconnect. Default {@link defaultShouldReconnect}: retryable reasons,
   * and only for GET and HEAD, so a POST (an expensive LLM call, an order) is never sent
   * twice unless this hook says it may be.
   */
  shouldReconnect?: (context: ReconnectContext) => ReconnectDecision | Promise<ReconnectDecision>;
  /**
   * Reconnect when no bytes at all arrive for this many ms. Set it to about three times the
   * server's heartbeat interval (`45_000` for a server that comments every 15 s). Default:
   * off, since a server without heartbeats (or an LLM thinking quietly) may be silent a while.
   */
  stallTimeout?: number;
  /**
   * Close the connection while the page is hidden and resume (with `Last-Event-ID`) when it
   * is shown again. Off by default; does nothing outside a page. A stream whose request may
   * not be re-sent (see `shouldReconnect`, reason `resume`) is never paused.
   */
  pauseWhenHidden?: boolean;
  /** The clock for delays and stall detection (tests use a virtual one). */
  clock?: Clock;
  /** Called with each 200 `text/event-stream` response before it is read; throw to reject it. */
  onopen?(response: Response): void | Promise<void>;
  /** Receives every event, instead of iterating. A connection has one reader: this or `for await`. */
  onevent?(event: StreamEventOf<E>): void;
  /** Told of every failure: `willReconnect` false means the connection has ended with it. */
  onerror?(error: Error, info: { willReconnect: boolean; delay: number | undefined }): void;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/**
 * The default reconnection policy: reconnect for a retryable reason, but only when the
 * request is safe to send again (GET, HEAD). Call it from your own hook to extend it.
 */
export function defaultShouldReconnect(context: ReconnectContext): boolean {
  return context.retryable && (context.method === 'GET' || context.method === 'HEAD');
}

/**
 * Opens an event stream with fetch: any method, headers and body; read it with
 * `for await`, or pass `onevent`. It reconnects with backoff and `Last-Event-ID` (for GET by
 * default; see `shouldReconnect`) and ends cleanly on `break`, `close()` or the `signal`.
 *
 * @example
 * for await (const event of connect('https://example.com/events')) {
 *   console.log(event.type, event.data);
 * }
 *
 * @example
 * // An LLM reply: the POST is sent once; the loop ends when the server ends the reply.
 * const reply = connect<{ token: { text: string } }>('/api/chat', {
 *   json: { prompt: 'Hello' },
 *   parse: 'json',
 * });
 * for await (const event of reply) if (event.type === 'token') output += event.data.text;
 */
export function connect<E extends EventMap = Record<string, string>>(
  url: string | URL,
  options: ConnectOptions<E> = {},
): EventStreamConnection<E> {
  return new EventStreamConnection<E>(url, options);
}

type Outcome =
  | { kind: 'closed' }
  | { kind: 'paused' }
  | { kind: 'no-content' }
  | { kind: 'fatal'; error: Error }
  | {
      kind: 'disconnect';
      reason: DisconnectReason;
      error: Error | undefined;
      response?: Response;
      /** The connection delivered bytes before it ended: the failure streak is over. */
      healthy: boolean;
    };

/** Carries an error out of the parser callback, past the read loop's network-error handling. */
class FatalSignal {
  constructor(readonly error: Error) {}
}

/**
 * A live event stream made by {@link connect}. It starts connecting at once; read it with
 * `for await` (once), or give `onevent`.
 */
export class EventStreamConnection<E extends EventMap = Record<string, string>>
  implements AsyncIterable<StreamEventOf<E>>
{
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSED = CLOSED;

  /** The absolute URL requested. */
  readonly url: string;
  /**
   * Settles when the connection has ended for good: resolves after a clean end (`close()`,
   * `break`, the signal, a 204, a finished POST), rejects with the error that ended it.
   * A rejection here is never reported as unhandled, unless `onevent` is the reader and
   * there is no `onerror` to hear about it.
   */
  readonly closed: Promise<void>;

  readonly #options: ConnectOptions<E>;
  readonly #method: string;
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  readonly #parser: EventStreamParser;
  readonly #lifetime = new AbortController();
  #readyState: typeof CONNECTING | typeof OPEN | typeof CLOSED = CONNECTING;
  #request: AbortController | undefined;
  #paused = false;
  #serverRetry: number | undefined;
  #attempts = 0;
  #finished = false;
  #error: Error | undefined;
  #errorDelivered = false;
  #iterating = false;
  readonly #queue: StreamEventOf<E>[] = [];
  readonly #waiters: {
    resolve: (result: IteratorResult<StreamEventOf<E>>) => void;
    reject: (error: Error) => void;
  }[] = [];
  #drainedWaiter: (() => void) | undefined;
  #stallTimer: unknown;
  #settle!: { resolve: () => void; reject: (error: Error) => void };
  readonly #cleanups: (() => void)[] = [];

  constructor(url: string | URL, options: ConnectOptions<E>) {
    try {
      this.url = new URL(String(url), baseUrl()).href;
    } catch {
      throw new TypeError(
        `connect(): invalid URL "${String(url)}"` +
          (baseUrl() === undefined ? ' (outside a page, URLs must be absolute)' : ''),
      );
    }
    if (options.body !== undefined && options.json !== undefined) {
      throw new TypeError('connect(): pass either body or json, not both');
    }
    const hasBody = options.body != null || options.json !== undefined;
    this.#method = (options.method ?? (hasBody ? 'POST' : 'GET')).toUpperCase();
    if (hasBody && (this.#method === 'GET' || this.#method === 'HEAD')) {
      throw new TypeError(`connect(): a ${this.#method} request cannot have a body`);
    }
    const initialId = options.lastEventId ?? '';
    if (/[\r\n\0]/.test(initialId)) {
      throw new TypeError('connect(): lastEventId must not contain CR, LF or NUL');
    }
    if (options.maxAttempts !== undefined && !(options.maxAttempts >= 1)) {
      throw new RangeError(`connect(): maxAttempts must be at least 1, got ${options.maxAttempts}`);
    }
    if (options.stallTimeout !== undefined && !(options.stallTimeout > 0)) {
      throw new RangeError(`connect(): stallTimeout must be > 0 ms, got ${options.stallTimeout}`);
    }
    const { parse } = options;
    if (
      parse !== undefined &&
      parse !== 'text' &&
      parse !== 'json' &&
      typeof parse !== 'function'
    ) {
      throw new TypeError(
        `connect(): parse must be 'text', 'json' or a function, got ${JSON.stringify(parse)}`,
      );
    }
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new TypeError('connect(): fetch must be a function');
    }
    // Checked now: at the first reconnection a RangeError would have no caller to reach.
    backoffDelay({ failures: 0, serverRetry: undefined }, options.backoff);

    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#parser = createParser(
      {
        onEvent: (event) => this.#deliver(event),
        onRetry: (milliseconds) => {
          this.#serverRetry = milliseconds;
        },
      },
      { lastEventId: initialId },
    );
    this.closed = new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // Like a stream's `closed`, the rejection is there to be awaited, not a crash waiting to
    // happen, unless nobody else would ever hear of the error (callback mode, no onerror).
    if (options.onevent === undefined || options.onerror !== undefined) {
      this.closed.catch(() => {});
    }

    const { signal } = options;
    if (signal?.aborted) {
      this.close();
      return;
    }
    if (signal !== undefined) {
      const onAbort = (): void => this.close();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (options.pauseWhenHidden) {
      this.#cleanups.push(onVisibilityChange((hidden) => void this.#onVisibility(hidden)));
    }
    void this.#run();
  }

  /** `CONNECTING` (0) while connecting or waiting to reconnect, `OPEN` (1), `CLOSED` (2). */
  get readyState(): 0 | 1 | 2 {
    return this.#readyState;
  }

  /** The last event ID received (or given); the next reconnection sends it. */
  get lastEventId(): string {
    return this.#parser.lastEventId;
  }

  /** Closes the connection for good: aborts the request, stops reconnecting, ends iteration. */
  close(): void {
    if (this.#finished) return;
    this.#queue.length = 0;
    this.#finish(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamEventOf<E>> {
    if (this.#options.onevent !== undefined) {
      throw new TypeError('this connection gives its events to onevent; it cannot be iterated too');
    }
    if (this.#iterating) {
      throw new TypeError('this connection is already being iterated; a stream has one reader');
    }
    this.#iterating = true;
    const iterator: AsyncIterator<StreamEventOf<E>> = {
      next: () => this.#next(),
      // `break`, `return` and a throw in the loop body all land here.
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  #next(): Promise<IteratorResult<StreamEventOf<E>>> {
    const event = this.#queue.shift();
    if (event !== undefined) {
      if (this.#queue.length === 0) this.#signalDrained();
      return Promise.resolve({ done: false, value: event });
    }
    if (this.#finished) {
      if (this.#error !== undefined && !this.#errorDelivered) {
        this.#errorDelivered = true;
        return Promise.reject(this.#error);
      }
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async #run(): Promise<void> {
    const options = this.#options;
    let failures = 0;
    while (!this.#finished) {
      if (options.pauseWhenHidden && isPageHidden() && (await this.#mayPause())) {
        await whenVisible(this.#lifetime.signal);
        continue;
      }
      this.#attempts++;
      const outcome = await this.#attempt();
      if (this.#finished || outcome.kind === 'closed') return;
      if (outcome.kind === 'paused') {
        this.#readyState = CONNECTING;
        await whenVisible(this.#lifetime.signal);
        continue;
      }
      if (outcome.kind === 'no-content') {
        // "HTTP 204 No Content ... prevent the user agent from reconnecting": a clean end.
        this.#finish(undefined);
        return;
      }
      if (outcome.kind === 'fatal') {
        this.#finish(outcome.error);
        return;
      }

      this.#readyState = CONNECTING;
      failures = outcome.healthy ? 0 : failures + 1;
      const context: ReconnectContext = {
        reason: outcome.reason,
        error: outcome.error,
        response: outcome.response,
        failures,
        method: this.#method,
        lastEventId: this.#parser.lastEventId,
        delay: this.#delayAfter(failures, outcome.response),
        retryable: isRetryable(outcome.reason, outcome.response),
      };
      let decision: ReconnectDecision;
      try {
        decision = await (options.shouldReconnect ?? defaultShouldReconnect)(context);
      } catch (error) {
        this.#finish(toError(error));
        return;
      }
      if (this.#finished) return;
      // Anything but true or a delay stops, so a hook that forgets to return stops too.
      if (decision !== true && typeof decision !== 'number') {
        this.#finish(outcome.error);
        return;
      }
      // The limit counts only failures that would have been retried: a refused request
      // ends with its own error, not with "gave up".
      if (options.maxAttempts !== undefined && failures >= options.maxAttempts) {
        this.#finish(new RetryLimitError(failures, outcome.error));
        return;
      }
      const delay = typeof decision === 'number' ? Math.max(0, decision) : context.delay;
      if (outcome.error !== undefined) {
        options.onerror?.(outcome.error, { willReconnect: true, delay });
      }
      await sleep(this.#clock, delay, this.#lifetime.signal);
    }
  }

  /** The backoff delay, or the server's `Retry-After` when it sent one with a failure. */
  #delayAfter(failures: number, response: Response | undefined): number {
    const retryAfter = retryAfterDelay(response?.headers.get('retry-after') ?? null);
    if (retryAfter !== undefined) return retryAfter;
    return backoffDelay(
      { failures: Math.max(0, failures - 1), serverRetry: this.#serverRetry },
      this.#options.backoff,
    );
  }

  async #attempt(): Promise<Outcome> {
    const request = new AbortController();
    this.#request = request;
    this.#paused = false;
    let init: RequestInit;
    try {
      init = await this.#requestInit(request.signal);
    } catch (error) {
      return { kind: 'fatal', error: toError(error) };
    }
    if (request.signal.aborted) return this.#abortedOutcome();

    let response: Response;
    try {
      response = await this.#fetch(this.url, init);
    } catch (error) {
      if (request.signal.aborted) return this.#abortedOutcome();
      const message = `could not connect to ${this.url}: ${describeError(error)}`;
      return {
        kind: 'disconnect',
        reason: 'network',
        error: new ConnectionError(message, { cause: error }),
        healthy: false,
      };
    }
    if (request.signal.aborted) {
      discard(response);
      return this.#abortedOutcome();
    }
    if (response.status === 204) {
      discard(response);
      return { kind: 'no-content' };
    }
    const contentType = response.headers.get('content-type');
    if (response.status !== 200 || !isEventStream(contentType)) {
      const body = await readSnippet(response, this.#clock);
      const problem =
        response.status !== 200
          ? `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`
          : `expected Content-Type text/event-stream, got ${contentType === null ? 'none' : `"${contentType}"`}`;
      return {
        kind: 'disconnect',
        reason: response.status !== 200 ? 'status' : 'content-type',
        error: new ResponseError(response, body, problem),
        response,
        healthy: false,
      };
    }
    if (this.#options.onopen !== undefined) {
      try {
        await this.#options.onopen(response);
      } catch (error) {
        discard(response);
        if (request.signal.aborted) return this.#abortedOutcome();
        return {
          kind: 'disconnect',
          reason: 'rejected',
          error: toError(error),
          response,
          healthy: false,
        };
      }
      if (request.signal.aborted) {
        discard(response);
        return this.#abortedOutcome();
      }
    }
    this.#readyState = OPEN;
    return this.#read(response, request);
  }

  async #read(response: Response, request: AbortController): Promise<Outcome> {
    if (response.body === null) {
      return { kind: 'disconnect', reason: 'end', error: undefined, healthy: false };
    }
    const reader = response.body.getReader();
    const clock = this.#clock;
    const { stallTimeout } = this.#options;
    let stalled = false;
    let received = false;
    try {
      for (;;) {
        // The stall timer runs only while waiting for the network, never while waiting for
        // a slow consumer, so backpressure is not mistaken for a dead connection.
        if (stallTimeout !== undefined) {
          this.#stallTimer = clock.setTimeout(() => {
            stalled = true;
            request.abort();
          }, stallTimeout);
        }
        const { done, value } = await reader.read();
        clock.clearTimeout(this.#stallTimer);
        if (done) break;
        received = true;
        this.#parser.feed(value);
        // Backpressure: read on only once the reader took what this chunk held.
        if (this.#queue.length > 0) await this.#drained();
        if (request.signal.aborted) break;
      }
    } catch (error) {
      clock.clearTimeout(this.#stallTimer);
      if (error instanceof FatalSignal) {
        request.abort();
        return { kind: 'fatal', error: error.error };
      }
      if (stalled) {
        return {
          kind: 'disconnect',
          reason: 'stall',
          error: new StallError(stallTimeout ?? 0),
          healthy: received,
        };
      }
      if (request.signal.aborted) return this.#abortedOutcome();
      const message = `the connection to ${this.url} was lost: ${describeError(error)}`;
      return {
        kind: 'disconnect',
        reason: 'network',
        error: new ConnectionError(message, { cause: error }),
        healthy: received,
      };
    } finally {
      // An event without its final blank line is discarded, and its id is not committed.
      this.#parser.end();
      // Ends the response (and with it the socket) whichever way the loop ended.
      request.abort();
    }
    if (this.#finished || this.#paused) return this.#abortedOutcome();
    return { kind: 'disconnect', reason: 'end', error: undefined, healthy: received };
  }

  async #requestInit(signal: AbortSignal): Promise<RequestInit> {
    const options = this.#options;
    const custom =
      typeof options.headers === 'function' ? await options.headers() : options.headers;
    const headers = new Headers(custom);
    if (!headers.has('Accept')) headers.set('Accept', 'text/event-stream');
    if (!isBrowsingContext() && !headers.has('Cache-Control')) {
      headers.set('Cache-Control', 'no-cache');
    }
    const lastEventId = this.#parser.lastEventId;
    if (lastEventId !== '') headers.set('Last-Event-ID', lastEventIdHeaderValue(lastEventId));

    let body: BodyInit | null | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
    } else if (typeof options.body === 'function') {
      body = await options.body();
    } else {
      body = options.body;
      if (body instanceof ReadableStream && this.#attempts > 1) {
        throw new TypeError(
          'connect(): a ReadableStream body can be sent only once; pass body as a function that returns a new one to allow reconnecting',
        );
      }
    }
    const init: RequestInit & { duplex?: 'half' } = {
      method: this.#method,
      headers,
      body,
      cache: 'no-store',
      credentials: options.credentials ?? 'same-origin',
      redirect: 'follow',
      signal,
    };
    // Streaming request bodies need half duplex in fetch (Node insists on saying so).
    if (body instanceof ReadableStream) init.duplex = 'half';
    return init;
  }

  #deliver(raw: ServerSentEvent): void {
    if (this.#finished || this.#paused) return;
    const { parse = 'text', onevent } = this.#options;
    let data: unknown = raw.data;
    if (parse !== 'text') {
      try {
        data = parse === 'json' ? JSON.parse(raw.data) : parse(raw.data, raw.type);
      } catch (cause) {
        throw new FatalSignal(new EventDataError(raw, cause));
      }
    }
    // The map's types are the caller's statement about the server; they are not checked.
    const event = { type: raw.type, data, lastEventId: raw.lastEventId } as StreamEventOf<E>;
    if (onevent !== undefined) {
      try {
        onevent(event);
      } catch (error) {
        throw new FatalSignal(toError(error));
      }
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve({ done: false, value: event });
    else this.#queue.push(event);
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      this.#drainedWaiter = resolve;
    });
  }

  #signalDrained(): void {
    const waiter = this.#drainedWaiter;
    this.#drainedWaiter = undefined;
    waiter?.();
  }

  #abortedOutcome(): Outcome {
    return this.#finished ? { kind: 'closed' } : { kind: 'paused' };
  }

  /** Would the request be sent again after a pause? Asks the same hook as reconnection does. */
  async #mayPause(): Promise<boolean> {
    const context: ReconnectContext = {
      reason: 'resume',
      error: undefined,
      response: undefined,
      failures: 0,
      method: this.#method,
      lastEventId: this.#parser.lastEventId,
      delay: 0,
      retryable: true,
    };
    try {
      return (await (this.#options.shouldReconnect ?? defaultShouldReconnect)(context)) !== false;
    } catch {
      return false;
    }
  }

  async #onVisibility(hidden: boolean): Promise<void> {
    if (!hidden || this.#finished || this.#request === undefined) return;
    if (!(await this.#mayPause()) || this.#finished) return;
    this.#paused = true;
    this.#request.abort();
  }

  #finish(error: Error | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#error = error;
    this.#readyState = CLOSED;
    this.#lifetime.abort();
    this.#request?.abort();
    this.#clock.clearTimeout(this.#stallTimer);
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#signalDrained();
    // A waiting reader means the queue is empty: give it the end (or the error) now.
    for (const waiter of this.#waiters.splice(0)) {
      if (error !== undefined && !this.#errorDelivered) {
        this.#errorDelivered = true;
        waiter.reject(error);
      } else {
        waiter.resolve({ done: true, value: undefined });
      }
    }
    if (error === undefined) {
      this.#settle.resolve();
    } else {
      this.#options.onerror?.(error, { willReconnect: false, delay: undefined });
      this.#settle.reject(error);
    }
  }
}

function isRetryable(reason: DisconnectReason, response: Response | undefined): boolean {
  if (reason === 'status') return response !== undefined && RETRYABLE_STATUSES.has(response.status);
  return reason === 'end' || reason === 'network' || reason === 'stall' || reason === 'resume';
}

/** Reads up to 1 KiB of an error response for the message, then lets the response go. */
async function readSnippet(response: Response, clock: Clock): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  // A server that sends headers and then nothing must not hang the error report.
  const timer = clock.setTimeout(() => void reader.cancel().catch(() => {}), 2000);
  try {
    while (size < 1024) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // Whatever arrived is enough for a message.
  } finally {
    clock.clearTimeout(timer);
    void reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes.subarray(0, 1024));
}

function discard(response: Response): void {
  void response.body?.cancel().catch(() => {});
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
