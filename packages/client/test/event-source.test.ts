import { EventSource, EventSourceErrorEvent } from '@tidings/client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeStartedServers,
  eventStreamHeaders,
  refusedUrl,
  startServer,
} from './support/http-server.js';
import { VirtualClock } from './support/virtual-clock.js';

// What the conformance cases do not cover: the extensions (headers, fetch, clock, error
// details) and Node-specific behaviour. The spec behaviour itself is in wpt-*.test.ts.

const sources: EventSource[] = [];
afterEach(async () => {
  for (const source of sources.splice(0)) source.close();
  await closeStartedServers();
});

function track(source: EventSource): EventSource {
  sources.push(source);
  return source;
}

function nextEvent<T extends Event = Event>(source: EventSource, type: string): Promise<T> {
  return new Promise((resolve) =>
    source.addEventListener(type, (event: Event) => resolve(event as T), { once: true }),
  );
}

describe('EventSource in Node', () => {
  it('rejects a relative URL with a SyntaxError that says why', () => {
    const attempt = () => new EventSource('/events');
    expect(attempt).toThrow(DOMException);
    expect(attempt).toThrow(/no page to resolve a relative URL against/);
    try {
      attempt();
    } catch (error) {
      expect((error as DOMException).name).toBe('SyntaxError');
    }
  });

  it('rejects a fetch option that is not a function at once, not as a network error', () => {
    expect(
      () => new EventSource('http://127.0.0.1/', { fetch: 'no' as unknown as typeof fetch }),
    ).toThrow(/init\.fetch must be a function/);
  });

  it('sends Accept, Cache-Control and the extra headers; a header function runs per connection', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end('retry: 1\ndata: x\n\n');
    });
    let calls = 0;
    const clock = new VirtualClock({ auto: true });
    const source = track(
      new EventSource(server.url, {
        clock,
        headers: async () => ({ Authorization: `Bearer token-${++calls}`, Accept: 'text/plain' }),
      }),
    );
    await server.waitForRequests(2);
    source.close();
    const [first, second] = server.requests;
    expect(first?.headers.authorization).toBe('Bearer token-1');
    expect(second?.headers.authorization).toBe('Bearer token-2');
    // The EventSource's own headers win over the caller's.
    expect(first?.headers.accept).toBe('text/event-stream');
    expect(first?.headers['cache-control']).toBe('no-cache');
  });

  it('uses the fetch it is given', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end('data: hello\n\n');
    });
    const seen: string[] = [];
    const source = track(
      new EventSource(server.url, {
        fetch: (input, init) => {
          seen.push(String(input));
          return fetch(input, init);
        },
      }),
    );
    const message = await nextEvent<MessageEvent>(source, 'message');
    expect(message.data).toBe('hello');
    expect(seen).toEqual([server.url]);
  });

  it('explains a failed connection in the error event: status and message', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(401, 'Unauthorized', { 'Content-Type': 'text/plain' });
      response.end('token expired');
    });
    const source = track(new EventSource(server.url));
    const error = await nextEvent<EventSourceErrorEvent>(source, 'error');
    expect(error).toBeInstanceOf(EventSourceErrorEvent);
    expect(error.status).toBe(401);
    expect(error.message).toBe('HTTP 401 Unauthorized: an event stream needs status 200');
    expect(source.readyState).toBe(EventSource.CLOSED);
  });

  it('names the content type it refused', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end('<p>login</p>');
    });
    const source = track(new EventSource(server.url));
    const error = await nextEvent<EventSourceErrorEvent>(source, 'error');
    expect(error.message).toBe('Content-Type "text/html" is not text/event-stream');
    expect(source.readyState).toBe(EventSource.CLOSED);
  });

  it('reconnects after a network error, waiting the reconnection time (3 s before any retry:)', async () => {
    const clock = new VirtualClock();
    const source = track(new EventSource(await refusedUrl(), { clock }));
    const error = await nextEvent<EventSourceErrorEvent>(source, 'error');
    expect(source.readyState).toBe(EventSource.CONNECTING);
    expect(error.message).toMatch(/^network error: fetch failed \(.*ECONNREFUSED/);
    expect(clock.pending()).toEqual([3000]);
    // close() while waiting: the reconnection is cancelled, nothing stays scheduled.
    source.close();
    expect(clock.pending()).toEqual([]);
  });

  it('waits the time the server set with retry:, and sends Last-Event-ID', async () => {
    const server = await startServer((_request, response, index) => {
      response.writeHead(200, eventStreamHeaders);
      response.end(index === 0 ? 'retry: 1234\nid: 7\ndata: first\n\n' : 'data: second\n\n');
    });
    const clock = new VirtualClock();
    const source = track(new EventSource(server.url, { clock }));
    await nextEvent(source, 'error');
    expect(clock.pending()).toEqual([1234]);
    expect(server.requests).toHaveLength(1);
    clock.advance(1233);
    expect(server.requests).toHaveLength(1);
    clock.advance(1);
    const second = await nextEvent<MessageEvent>(source, 'message');
    expect(second.data).toBe('second');
    expect(second.lastEventId).toBe('7');
    expect(server.requests[1]?.headers['last-event-id']).toBe('7');
    expect(server.requests[0]?.headers['last-event-id']).toBeUndefined();
  });

  it('close() aborts the request: the server sees the connection go', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('data: hello\n\n');
    });
    const source = track(new EventSource(server.url));
    await nextEvent(source, 'message');
    source.close();
    await server.requests[0]?.closed;
    expect(source.readyState).toBe(EventSource.CLOSED);
  });

  it('close() before the response arrives: no event at all', async () => {
    let release: (() => void) | undefined;
    const server = await startServer((_request, response) => {
      release = () => {
        response.writeHead(200, eventStreamHeaders);
        response.end('data: late\n\n');
      };
    });
    const source = track(new EventSource(server.url));
    const events: string[] = [];
    for (const type of ['open', 'message', 'error'])
      source.addEventListener(type, () => events.push(type));
    await server.waitForRequests(1);
    source.close();
    release?.();
    await server.requests[0]?.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual([]);
  });

  it('on* handlers: one listener each, replaced in place, removed by null', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('event: ping\ndata: named\n\ndata: one\n\ndata: two\n\n');
    });
    const source = track(new EventSource(server.url));
    const calls: string[] = [];
    const first = (event: MessageEvent) => calls.push(`first:${event.data}`);
    source.onmessage = first;
    expect(source.onmessage).toBe(first);
    source.onmessage = (event: MessageEvent) => {
      calls.push(`second:${event.data}`);
      if (event.data === 'one') source.onmessage = null;
    };
    // A listener added after the handler runs after it: when it has seen "two", so has onmessage.
    await new Promise<void>((resolve) =>
      source.addEventListener('message', (event) => {
        if (event.data === 'two') resolve();
      }),
    );
    // onmessage never saw the named event, and after null it saw nothing more.
    expect(calls).toEqual(['second:one']);
    expect(source.onmessage).toBeNull();
  });

  it('says it takes a fetch the way the eventsource package does', () => {
    // Libraries check this symbol before passing `fetch` (eventsource >= 4.1 defines it).
    const flag = Symbol.for('eventsource.supports-fetch-override');
    expect(flag in EventSource).toBe(true);
    expect((EventSource as unknown as Record<symbol, unknown>)[flag]).toBe(true);
    expect(Object.getOwnPropertyDescriptor(EventSource, flag)?.enumerable).toBe(false);
  });

  it('gives error events a code: the HTTP status as the eventsource package names it', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(403, 'Forbidden', { 'Content-Type': 'text/plain' });
      response.end();
    });
    const refused = track(new EventSource(server.url));
    const statusError = await nextEvent<EventSourceErrorEvent>(refused, 'error');
    expect(statusError.code).toBe(403);
    expect(statusError.status).toBe(403);
    const unreachable = track(new EventSource(await refusedUrl(), { clock: new VirtualClock() }));
    const networkError = await nextEvent<EventSourceErrorEvent>(unreachable, 'error');
    expect(networkError.code).toBeUndefined();
  });

  it('exposes the constants on the class and the instance, and withCredentials', () => {
    const source = track(new EventSource('http://127.0.0.1:1/', { withCredentials: true }));
    expect([EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED]).toEqual([0, 1, 2]);
    expect([source.CONNECTING, source.OPEN, source.CLOSED]).toEqual([0, 1, 2]);
    expect(source.withCredentials).toBe(true);
    expect(source.url).toBe('http://127.0.0.1:1/');
    expect(Object.keys(source)).toEqual([]);
  });
});
