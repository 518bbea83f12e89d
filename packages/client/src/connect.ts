import { createParser, type EventStreamParser, type ServerSentEvent } from '@tidings/protocol';
import { type BackoffOptions, backoffDelay, retryAfterDelay } from './backoff.js';
import { type Clock, sleep, systemClock } from './clock.js';
import { attemptConnection, type HeadersSource } from './connection-attempt.js';
import { EventDataError, ResponseError, RetryLimitError } from './errors.js';
import { baseUrl } from './page-context.js';
import { readSnippet } from './response-body.js';
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
  /**
   * Data that means "the stream is complete", as OpenAI-style APIs end a reply with
   * `data: [DONE]`. An event whose data is exactly one of these (any event type) is not
   * delivered: the connection ends there cleanly and is not reconnected. Default `'[DONE]'`
   * when `parse` decodes data (`'json'` or a function), where it could only be an error;
   * none with `'text'`, which delivers every data string as it is. `false`: none.
   */
  doneSentinel?: string | readonly string[] | false;
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
 *
 * @example
 * // An OpenAI-style stream: `data: [DONE]` ends the loop cleanly (see `doneSentinel`).
 * for await (const event of connect<{ message: Chunk }>(url, { json: body, parse: 'json' })) {
 *   output += event.data.choices[0]?.delta.content ?? '';
 * }
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
  /** Data values that end the stream (`doneSentinel`); usually none or one. */
  readonly #doneSentinels: readonly string[];
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
    const doneSentinel =
      options.doneSentinel ?? (parse === undefined || parse === 'text' ? false : '[DONE]');
    if (!isDoneSentinel(doneSentinel)) {
      // An empty string could never match: an event with empty data is not dispatched.
      throw new TypeError(
        `connect(): doneSentinel must be a non-empty string, a list of them, or false; got ${JSON.stringify(doneSentinel)}`,
      );
    }
    this.#doneSentinels = doneSentinel === false ? [] : [doneSentinel].flat();
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
    const options = this.#options;
    const outcome = await attemptConnection({
      url: this.url,
      fetch: this.#fetch,
      method: this.#method,
      headers: this.#headers(),
      standardHeaders: false,
      body: () => this.#body(),
      credentials: options.credentials ?? 'same-origin',
      request,
      parser: this.#parser,
      clock: this.#clock,
      stallTimeout: options.stallTimeout,
      onOpen: async (response) => {
        await options.onopen?.(response);
        if (!request.signal.aborted) this.#readyState = OPEN;
      },
      // Backpressure: read on only once the reader took what the last chunk held.
      afterChunk: () => (this.#queue.length > 0 ? this.#drained() : undefined),
    });
    switch (outcome.kind) {
      case 'aborted':
        return this.#abortedOutcome();
      case 'unprepared':
      case 'unusable':
        return { kind: 'fatal', error: outcome.error };
      case 'no-content':
        return { kind: 'no-content' };
      case 'network':
      case 'stall':
        return {
          kind: 'disconnect',
          reason: outcome.kind,
          error: outcome.error,
          healthy: outcome.received,
        };
      case 'end':
        return { kind: 'disconnect', reason: 'end', error: undefined, healthy: outcome.received };
      case 'rejected':
        return {
          kind: 'disconnect',
          reason: 'rejected',
          error: outcome.error,
          response: outcome.response,
          healthy: false,
        };
      case 'refused': {
        const { response, contentType } = outcome;
        const body = await readSnippet(response.body, request.signal, this.#clock);
        const problem =
          outcome.reason === 'status'
            ? `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`
            : `expected Content-Type text/event-stream, got ${contentType === null ? 'none' : `"${contentType}"`}`;
        return {
          kind: 'disconnect',
          reason: outcome.reason,
          error: new ResponseError(response, body, problem),
          response,
          healthy: false,
        };
      }
    }
  }

  /** The caller's headers, with `Content-Type` for a `json` body unless they name one. */
  #headers(): HeadersSource | undefined {
    const { headers, json } = this.#options;
    if (json === undefined) return headers;
    return async () => {
      const merged = new Headers(typeof headers === 'function' ? await headers() : headers);
      if (!merged.has('Content-Type')) merged.set('Content-Type', 'application/json');
      return merged;
    };
  }

  async #body(): Promise<BodyInit | null | undefined> {
    const { body, json } = this.#options;
    if (json !== undefined) return JSON.stringify(json);
    if (typeof body === 'function') return body();
    if (body instanceof ReadableStream && this.#attempts > 1) {
      throw new TypeError(
        'connect(): a ReadableStream body can be sent only once; pass body as a function that returns a new one to allow reconnecting',
      );
    }
    return body;
  }

  // An error here ends the connection at once (#finish aborts the request), so the rest of
  // the chunk is parsed but never delivered.
  #deliver(raw: ServerSentEvent): void {
    if (this.#finished || this.#paused) return;
    if (this.#doneSentinels.includes(raw.data)) {
      // The stream said it is complete: a clean end, and nothing to reconnect for.
      this.#finish(undefined);
      return;
    }
    const { parse = 'text', onevent } = this.#options;
    let data: unknown = raw.data;
    if (parse !== 'text') {
      try {
        data = parse === 'json' ? JSON.parse(raw.data) : parse(raw.data, raw.type);
      } catch (cause) {
        this.#finish(new EventDataError(raw, cause));
        return;
      }
    }
    // The map's types are the caller's statement about the server; they are not checked.
    const event = { type: raw.type, data, lastEventId: raw.lastEventId } as StreamEventOf<E>;
    if (onevent !== undefined) {
      try {
        onevent(event);
      } catch (error) {
        this.#finish(toError(error));
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

function isDoneSentinel(value: unknown): value is string | readonly string[] | false {
  const isMarker = (item: unknown) => typeof item === 'string' && item !== '';
  return value === false || isMarker(value) || (Array.isArray(value) && value.every(isMarker));
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
