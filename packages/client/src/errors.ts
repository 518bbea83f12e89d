/**
 * The response was not an event stream: a status other than 200, or a `Content-Type` other
 * than `text/event-stream`. The message says which, and quotes the start of the body, where
 * servers usually explain themselves ("token expired").
 */
export class ResponseError extends Error {
  override readonly name = 'ResponseError';
  readonly status: number;
  readonly statusText: string;
  /** The final URL, after redirects. */
  readonly url: string;
  readonly headers: Headers;
  /** The first kilobyte of the body as text, `''` when there was none. */
  readonly body: string;

  constructor(response: Response, body: string, problem: string) {
    const snippet = body.trim().replace(/\s+/g, ' ').slice(0, 200);
    super(`${problem} from ${response.url || 'the server'}${snippet ? `: ${snippet}` : ''}`);
    this.status = response.status;
    this.statusText = response.statusText;
    this.url = response.url;
    this.headers = response.headers;
    this.body = body;
  }
}

/** The request could not be sent, or the connection broke while the stream was being read. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

/** No bytes at all (not even a heartbeat comment) arrived for `timeout` milliseconds. */
export class StallError extends Error {
  override readonly name = 'StallError';
  readonly timeout: number;

  constructor(timeout: number) {
    super(
      `no bytes received for ${timeout} ms, not even a heartbeat comment; the connection is presumed dead`,
    );
    this.timeout = timeout;
  }
}

/** `maxAttempts` connection attempts in a row failed; `cause` is the last failure. */
export class RetryLimitError extends Error {
  override readonly name = 'RetryLimitError';
  readonly attempts: number;

  constructor(attempts: number, cause: Error | undefined) {
    super(
      `gave up after ${attempts} failed attempt${attempts === 1 ? '' : 's'} in a row` +
        (cause ? `: ${cause.message}` : ''),
      { cause },
    );
    this.attempts = attempts;
  }
}

/** An event's `data` could not be decoded (`parse: 'json'` met text that is not JSON). */
export class EventDataError extends Error {
  override readonly name = 'EventDataError';
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;

  constructor(event: { type: string; data: string; lastEventId: string }, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `could not decode the data of a "${event.type}" event` +
        (event.lastEventId ? ` (last event id "${event.lastEventId}")` : '') +
        `: ${reason}`,
      { cause },
    );
    this.type = event.type;
    this.data = event.data;
    this.lastEventId = event.lastEventId;
  }
}
