import { createParser, type EventStreamParser, type ServerSentEvent } from '@tidings/protocol';
import { type Clock, systemClock } from './clock.js';
import { attemptConnection, type HeadersSource } from './connection-attempt.js';
import { describeError } from './describe-error.js';
import { baseUrl } from './page-context.js';
import { discardBody } from './response-body.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSED;

/**
 * The reconnection time before any `retry:` field has set one. The spec leaves it to the
 * user agent ("probably in the region of a few seconds"); 3 s is what Chromium uses.
 */
const DEFAULT_RECONNECTION_TIME = 3000;

export type { HeadersSource };

/**
 * The options of `new EventSource(url, init)`: the standard `withCredentials`, plus
 * extensions that a page's EventSource does not have. All extensions are optional: without
 * them this is the standard constructor.
 */
export interface EventSourceInit {
  /** Send cookies and HTTP auth cross-origin (fetch's `credentials: 'include'`). */
  withCredentials?: boolean;
  /** Extension: the fetch to use (a proxy agent, a test double, a runtime's own). */
  fetch?: typeof fetch;
  /**
   * Extension: extra request headers, e.g. `Authorization`. A function is called again for
   * every reconnection. `Accept` and `Last-Event-ID` are always set by the EventSource.
   */
  headers?: HeadersSource;
  /** Extension: the clock for reconnection delays (tests use a virtual one). */
  clock?: Clock;
}

/**
 * The `error` event. Browsers fire a bare `Event` and say nothing about why; this one is
 * still an `Event` (no `data`, does not bubble) but carries a `message` a person can act on,
 * and the HTTP `status` when a response caused it.
 */
export class EventSourceErrorEvent extends Event {
  /** Why the connection failed or was lost, e.g. `HTTP 401 Unauthorized`. */
  readonly message: string;
  /** The response status when a response failed the connection. */
  readonly status: number | undefined;
  /**
   * The same status under the name the `eventsource` npm package gives it, so code written
   * for that package (`if (event.code === 401)`) works unchanged.
   */
  get code(): number | undefined {
    return this.status;
  }
  /** The underlying exception (a network error from fetch), when there was one. */
  readonly error: unknown;

  constructor(message: string, details: { status?: number; error?: unknown } = {}) {
    super('error');
    this.message = message;
    this.status = details.status;
    this.error = details.error;
  }
}

/** The events an EventSource dispatches besides named server events. */
export interface EventSourceEventMap {
  error: Event;
  message: MessageEvent<string>;
  open: Event;
}

type Handler<E extends Event> = ((this: EventSource, event: E) => unknown) | null;

// Declaration merging gives EventSource the typed overloads that lib.dom's EventSource has,
// which a class body cannot add on top of EventTarget's own method signatures.
export interface EventSource {
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSED: 2;
  addEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSource, event: EventSourceEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: (this: EventSource, event: MessageEvent<string>) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSource, event: EventSourceEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: (this: EventSource, event: MessageEvent<string>) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

/**
 * The WHATWG `EventSource`, on fetch: the same class runs in Node, workers and browsers.
 *
 * It follows the HTML standard's "Server-sent events" processing model: a request with
 * `Accept: text/event-stream` and cache mode `no-store`; a 200 `text/event-stream`
 * response opens; any other status or MIME type fails the connection for good (`CLOSED`,
 * `error`); a network error or the end of the body reconnects after the reconnection time
 * (set by `retry:`), sending `Last-Event-ID`. `close()` is synchronous and final.
 *
 * @example
 * const source = new EventSource('https://example.com/events', {
 *   headers: { Authorization: `Bearer ${token}` }, // extension: not in browsers' EventSource
 * });
 * source.addEventListener('ping', (event) => console.log(event.data));
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: EventTarget implements the merged listener overloads, and the constants are defined on the prototype below the class.
export class EventSource extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSED = CLOSED;

  readonly #url: string;
  readonly #withCredentials: boolean;
  readonly #fetch: typeof fetch;
  readonly #headers: HeadersSource | undefined;
  readonly #clock: Clock;
  readonly #parser: EventStreamParser;
  #readyState: ReadyState = CONNECTING;
  #reconnectionTime = DEFAULT_RECONNECTION_TIME;
  /** Aborts the request of the current connection attempt. */
  #abort: AbortController | undefined;
  #reconnectTimer: unknown;
  /** The origin of the current response's final URL (after redirects), for MessageEvent.origin. */
  #origin = '';
  readonly #handlers = new Map<string, { value: Handler<Event>; listener: EventListener }>();

  constructor(url: string | URL, init: EventSourceInit = {}) {
    super();
    // "Let urlRecord be the result of encoding-parsing a URL given url, relative to settings.
    // If urlRecord is failure, then throw a "SyntaxError" DOMException."
    const base = baseUrl();
    let parsed: URL;
    try {
      parsed = new URL(String(url), base);
    } catch {
      throw new DOMException(
        base === undefined
          ? `Invalid URL "${String(url)}": there is no page to resolve a relative URL against, so pass an absolute http(s) URL`
          : `Invalid URL "${String(url)}"`,
        'SyntaxError',
      );
    }
    if (init.fetch !== undefined && typeof init.fetch !== 'function') {
      // Otherwise every attempt would fail as a "network error" and reconnect forever.
      throw new TypeError('EventSource: init.fetch must be a function');
    }
    this.#url = parsed.href;
    this.#withCredentials = Boolean(init.withCredentials);
    this.#headers = init.headers;
    this.#clock = init.clock ?? systemClock;
    // Looked up per call, not captured: a page's fetch must be called on the global object,
    // and a polyfill installed after this module loaded is still picked up.
    this.#fetch = init.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
    this.#parser = createParser({
      onEvent: (event) => this.#dispatchMessage(event),
      // "If the field value consists of only ASCII digits, then interpret the field value as
      // an integer in base ten, and set the event stream's reconnection time to that integer."
      onRetry: (milliseconds) => {
        this.#reconnectionTime = milliseconds;
      },
    });

    if (init.fetch === undefined && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      // Fetching any other scheme is a network error every time, so reconnecting would be
      // futile: "...unless the user agent knows that to be futile, in which case the user
      // agent may fail the connection."
      queueMicrotask(() =>
        this.#fail(`EventSource needs an http(s) URL; "${parsed.protocol}" cannot be fetched`),
      );
      return;
    }
    void this.#connect();
  }

  /** The absolute URL of the event stream (as given, before any redirect). */
  get url(): string {
    return this.#url;
  }

  get withCredentials(): boolean {
    return this.#withCredentials;
  }

  /** `CONNECTING` (0), `OPEN` (1) or `CLOSED` (2). */
  get readyState(): ReadyState {
    return this.#readyState;
  }

  get onopen(): Handler<Event> {
    return this.#getHandler('open');
  }
  set onopen(handler: Handler<Event>) {
    this.#setHandler('open', handler);
  }
  get onmessage(): Handler<MessageEvent<string>> {
    return this.#getHandler('message') as Handler<MessageEvent<string>>;
  }
  set onmessage(handler: Handler<MessageEvent<string>>) {
    this.#setHandler('message', handler as Handler<Event>);
  }
  get onerror(): Handler<Event> {
    return this.#getHandler('error');
  }
  set onerror(handler: Handler<Event>) {
    this.#setHandler('error', handler);
  }

  /**
   * Closes the connection for good, synchronously: the request is aborted, no reconnection
   * is scheduled, and no event is dispatched after this returns (not even one already parsed
   * from the chunk being processed).
   */
  close(): void {
    this.#readyState = CLOSED;
    this.#clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#abort?.abort();
    this.#abort = undefined;
  }

  async #connect(): Promise<void> {
    const request = new AbortController();
    this.#abort = request;
    const outcome = await attemptConnection({
      url: this.#url,
      fetch: this.#fetch,
      method: 'GET',
      headers: this.#headers,
      standardHeaders: true,
      credentials: this.#withCredentials ? 'include' : 'same-origin',
      request,
      parser: this.#parser,
      clock: this.#clock,
      onOpen: (response) => {
        // A fetch that does not fill in `url` (a synthetic Response) was not redirected.
        this.#origin = new URL(response.url || this.#url).origin;
        // "Announce the connection": readyState OPEN, then `open`, before any message.
        this.#readyState = OPEN;
        this.dispatchEvent(new Event('open'));
      },
    });
    switch (outcome.kind) {
      case 'aborted':
        return; // close() was called: nothing more to say
      case 'unprepared':
        this.#reestablish(
          `could not build the request: ${describeError(outcome.error)}`,
          outcome.error,
        );
        return;
      case 'network':
        // "If res is a network error, then reestablish the connection".
        this.#reestablish(
          outcome.during === 'request'
            ? `network error: ${describeError(outcome.error.cause)}`
            : `the connection was lost: ${describeError(outcome.error.cause)}`,
          outcome.error.cause,
        );
        return;
      case 'no-content':
      case 'refused': {
        const { response } = outcome;
        discardBody(response.body);
        this.#fail(
          outcome.kind === 'refused' && outcome.reason === 'content-type'
            ? `Content-Type "${outcome.contentType ?? ''}" is not text/event-stream`
            : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}: an event stream needs status 200`,
          response.status,
        );
        return;
      }
      case 'rejected':
      case 'unusable':
        // Asking the same fetch again would get the same answer: "...unless the user agent
        // knows that to be futile, in which case the user agent may fail the connection."
        this.#fail(outcome.error.message, undefined, outcome.error);
        return;
      case 'stall':
      case 'end':
        this.#reestablish('the server ended the stream');
        return;
    }
  }

  #dispatchMessage(event: ServerSentEvent): void {
    // Each event is its own task that checks readyState first: a close() from an earlier
    // listener stops the rest of the chunk.
    if (this.#readyState !== OPEN) return;
    this.dispatchEvent(
      new MessageEvent(event.type, {
        data: event.data,
        origin: this.#origin,
        lastEventId: event.lastEventId,
      }),
    );
  }

  /** "Reestablish the connection": CONNECTING, `error`, then a new request after the delay. */
  #reestablish(message: string, error?: unknown): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CONNECTING;
    this.dispatchEvent(new EventSourceErrorEvent(message, { error }));
    // An error listener may have called close().
    if (this.#readyState !== CONNECTING) return;
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#readyState === CONNECTING) void this.#connect();
    }, this.#reconnectionTime);
  }

  /** "Fail the connection": CLOSED, then `error`; never reconnects. */
  #fail(message: string, status?: number, error?: unknown): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CLOSED;
    this.#abort?.abort();
    this.#abort = undefined;
    this.dispatchEvent(new EventSourceErrorEvent(message, { status, error }));
  }

  #getHandler(type: string): Handler<Event> {
    return this.#handlers.get(type)?.value ?? null;
  }

  /**
   * Event handler attributes, as the HTML standard defines them: the first non-null value
   * adds one listener, in order with the others; a new value replaces the callback in place;
   * null removes it.
   */
  #setHandler(type: string, value: Handler<Event>): void {
    const handler = typeof value === 'function' ? value : null;
    const entry = this.#handlers.get(type);
    if (handler === null) {
      if (entry !== undefined) {
        this.removeEventListener(type, entry.listener);
        this.#handlers.delete(type);
      }
      return;
    }
    if (entry !== undefined) {
      entry.value = handler;
      return;
    }
    const created = {
      value: handler,
      listener: (event: Event) => {
        created.value?.call(this, event);
      },
    };
    this.#handlers.set(type, created);
    this.addEventListener(type, created.listener);
  }
}

// WebIDL constants live on the prototype too, so `source.CLOSED` works like in browsers.
for (const [name, value] of [
  ['CONNECTING', CONNECTING],
  ['OPEN', OPEN],
  ['CLOSED', CLOSED],
] as const) {
  Object.defineProperty(EventSource.prototype, name, { value, enumerable: true });
}

// The `eventsource` npm package (4.1 and later) marks its class with this symbol, and
// libraries look for it before passing a `fetch` option. This class takes one too.
Object.defineProperty(EventSource, Symbol.for('eventsource.supports-fetch-override'), {
  value: true,
  writable: false,
  enumerable: false,
  configurable: false,
});
