/**
 * A request the hub refuses, with the status and a one-line reason a person can act on
 * (what was wrong, which field or topic). Thrown while a request is parsed or checked and
 * turned into a `text/plain` response by the router, before anything is published or
 * changed.
 */
export class HttpError extends Error {
  readonly status: number;
  /** Extra response headers, e.g. `Retry-After` on 429/503 or `Allow` on 405. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, reason: string, headers: Record<string, string> = {}) {
    super(reason);
    this.name = 'HttpError';
    this.status = status;
    this.headers = headers;
  }
}
