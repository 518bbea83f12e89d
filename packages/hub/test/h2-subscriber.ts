import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';

/** An HTTP/2 session to a test hub; `rejectUnauthorized: false` for its self-signed certificate. */
export function openSession(origin: string, ca?: Buffer): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, ca === undefined ? { rejectUnauthorized: false } : { ca });
    session.once('connect', () => {
      session.off('error', reject);
      resolve(session);
    });
    session.once('error', reject);
  });
}

/** One request on an HTTP/2 session, its head and its body as it arrives. */
export class H2Exchange {
  readonly stream: ClientHttp2Stream;
  readonly head: Promise<IncomingHttpHeaders>;
  readonly ended: Promise<void>;
  #body = '';
  readonly #waiters = new Set<() => void>();

  /** `body`: sent and ended; `'open'`: the request body stays open for the test to write. */
  constructor(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string) {
    this.stream = session.request(headers, { endStream: body === undefined });
    if (body !== undefined && body !== 'open') this.stream.end(body);
    this.head = new Promise((resolve, reject) => {
      this.stream.once('response', resolve);
      this.stream.once('error', reject);
    });
    this.stream.setEncoding('utf8');
    this.stream.on('data', (chunk: string) => {
      this.#body += chunk;
      for (const waiter of this.#waiters) waiter();
    });
    this.ended = new Promise((resolve) => this.stream.once('close', () => resolve()));
    // A reset stream is an outcome the tests look at, not a crash.
    this.stream.on('error', () => {});
  }

  get body(): string {
    return this.#body;
  }

  /** Resolves once the body matches (rejects if the stream closes first). */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.#body.match(pattern);
        if (match) {
          this.#waiters.delete(check);
          resolve(match);
        }
      };
      this.#waiters.add(check);
      check();
      this.stream.once('close', () => {
        if (!this.#waiters.has(check)) return;
        this.#waiters.delete(check);
        reject(new Error(`stream closed before ${pattern}; got ${JSON.stringify(this.#body)}`));
      });
    });
  }
}

export function subscribe(session: ClientHttp2Session, query: string): H2Exchange {
  return new H2Exchange(session, {
    ':path': `/.well-known/mercure?${query}`,
    accept: 'text/event-stream',
  });
}

export function publish(
  session: ClientHttp2Session,
  token: string,
  fields: Record<string, string>,
): H2Exchange {
  return new H2Exchange(
    session,
    {
      ':method': 'POST',
      ':path': '/.well-known/mercure',
      authorization: `Bearer ${token}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    new URLSearchParams(fields).toString(),
  );
}
