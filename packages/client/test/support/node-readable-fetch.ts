import { request } from 'node:http';

/**
 * A fetch in the shape node-fetch 2 gives: a real HTTP request over a real socket, but the
 * Response's `body` is a Node Readable (async iterable of Buffers), not a WHATWG
 * ReadableStream, and the object is not a `Response`. Aborting the signal destroys the
 * request and with it the body, as node-fetch 2 does.
 */
export const nodeReadableFetch = ((input: string | URL, init: RequestInit = {}) =>
  new Promise((resolve, reject) => {
    const url = new URL(String(input));
    const outgoing = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers).entries()),
        signal: init.signal ?? undefined,
      },
      (incoming) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (value !== undefined)
            headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const status = incoming.statusCode ?? 0;
        resolve({
          status,
          statusText: incoming.statusMessage ?? '',
          ok: status >= 200 && status < 300,
          url: url.href,
          headers,
          body: incoming,
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(typeof init.body === 'string' ? init.body : undefined);
  })) as unknown as typeof fetch;

/** A fetch whose answer is `response` as given: the shapes hand-written mocks return. */
export function fetchReturning(response: unknown): typeof fetch & { calls: number } {
  const mock = Object.assign(
    async () => {
      mock.calls++;
      return response as Response;
    },
    { calls: 0 },
  );
  return mock as unknown as typeof fetch & { calls: number };
}
