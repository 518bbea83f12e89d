import {
  ConnectionError,
  connect,
  EventSource,
  EventSourceErrorEvent,
  ResponseError,
} from '@tidings/client';
import { afterEach, describe, expect, it } from 'vitest';
import { closeStartedServers, eventStreamHeaders, startServer } from './support/http-server.js';
import { fetchReturning, nodeReadableFetch } from './support/node-readable-fetch.js';

// A custom fetch need not be WHATWG's: node-fetch 2 answers with a Node Readable body, and
// hand-written mocks answer with whatever their author thought of. Each client reads what it
// can and turns everything else into an error with a reason, never an unhandled rejection.

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

const eventStreamHead = { status: 200, statusText: 'OK', url: 'http://mock.test/' };

/** Responses no client can read as an event stream, and what the error must say. */
const unreadable: { name: string; response: unknown; reason: RegExp }[] = [
  {
    name: 'a body that is a string',
    response: { ...eventStreamHead, headers: new Headers(eventStreamHeaders), body: 'data: x\n\n' },
    reason: /body is not a ReadableStream.*got a string/,
  },
  {
    name: 'no body property at all',
    response: { ...eventStreamHead, headers: new Headers(eventStreamHeaders) },
    reason: /body is not a ReadableStream.*got undefined/,
  },
  {
    name: 'headers that are a plain object',
    response: { ...eventStreamHead, headers: eventStreamHeaders, body: null },
    reason: /headers\.get/,
  },
  {
    name: 'no Response at all',
    response: undefined,
    reason: /resolved to undefined, not a Response/,
  },
];

describe('EventSource with a fetch that is not WHATWG fetch', () => {
  it('reads a body that is a Node Readable (node-fetch 2), and close() ends the request', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('id: 1\ndata: one\n\n');
      setTimeout(() => response.write('data: t\u00e9\ndata: two\n\n'), 20);
    });
    const source = track(new EventSource(server.url, { fetch: nodeReadableFetch }));
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      source.onmessage = (event) => {
        seen.push(`${event.lastEventId}:${event.data}`);
        if (seen.length === 2) resolve();
      };
    });
    expect(seen).toEqual(['1:one', '1:t\u00e9\ntwo']);
    source.close();
    await server.requests[0]?.closed;
  });

  for (const { name, response, reason } of unreadable) {
    it(`fails the connection with a reason for ${name}`, async () => {
      const fetch = fetchReturning(response);
      const source = track(new EventSource('http://mock.test/', { fetch }));
      const error = await nextEvent<EventSourceErrorEvent>(source, 'error');
      expect(error).toBeInstanceOf(EventSourceErrorEvent);
      expect(error.message).toMatch(reason);
      // Trying again would get the same answer: "fail the connection", once.
      expect(source.readyState).toBe(EventSource.CLOSED);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(fetch.calls).toBe(1);
    });
  }
});

describe('connect() with a fetch that is not WHATWG fetch', () => {
  it('reads a body that is a Node Readable (node-fetch 2), and close() ends the request', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('event: token\ndata: {"text":"Hel"}\n\n');
      setTimeout(() => response.write('event: token\ndata: {"text":"lo"}\n\n'), 20);
    });
    const connection = connect<{ token: { text: string } }>(server.url, {
      fetch: nodeReadableFetch,
      parse: 'json',
    });
    let text = '';
    for await (const event of connection) {
      text += event.data.text;
      if (text === 'Hello') break;
    }
    expect(text).toBe('Hello');
    await server.requests[0]?.closed;
    await expect(connection.closed).resolves.toBeUndefined();
  });

  it('quotes the Node Readable body of a refused response', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(401, 'Unauthorized', { 'Content-Type': 'text/plain' });
      response.end('token expired');
    });
    const connection = connect(server.url, { fetch: nodeReadableFetch });
    const error = await connection.closed.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).message).toMatch(
      /^HTTP 401 Unauthorized from .*: token expired$/,
    );
    expect((error as ResponseError).body).toBe('token expired');
  });

  for (const { name, response, reason } of unreadable) {
    it(`ends with a ConnectionError that says why for ${name}`, async () => {
      const fetch = fetchReturning(response);
      const connection = connect('http://mock.test/', { fetch });
      const error = await (async () => {
        try {
          for await (const _ of connection);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).message).toMatch(reason);
      await expect(connection.closed).rejects.toBe(error);
      // A GET would be retried after a network error; this answer would never change.
      expect(fetch.calls).toBe(1);
    });
  }

  it('close() lets go of a body that does not hear the abort: a stream or an iterable', async () => {
    const released: string[] = [];
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue('data: from a stream of strings\n\n');
      },
      cancel() {
        released.push('stream');
      },
    });
    // An iterator whose second read never settles, and that hears only return().
    let reads = 0;
    const iterable = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          reads++ === 0
            ? Promise.resolve({ done: false, value: 'data: from an iterable\n\n' })
            : new Promise<never>(() => {}),
        return: async () => {
          released.push('iterable');
          return { done: true, value: undefined };
        },
      }),
    };
    for (const body of [stream, iterable]) {
      const fetch = fetchReturning({
        ...eventStreamHead,
        headers: new Headers(eventStreamHeaders),
        body,
      });
      const connection = connect('http://mock.test/', { fetch });
      for await (const event of connection) {
        expect(event.data).toMatch(/^from an? /);
        break;
      }
      await expect(connection.closed).resolves.toBeUndefined();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toEqual(['stream', 'iterable']);
  });

  it('ends with a ConnectionError when a body stream gives chunks that are not bytes', async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: one\n\n'));
        controller.enqueue(42);
      },
    });
    const fetch = fetchReturning({
      ...eventStreamHead,
      headers: new Headers(eventStreamHeaders),
      body,
    });
    const connection = connect('http://mock.test/', { fetch });
    const seen: string[] = [];
    const error = await (async () => {
      try {
        for await (const event of connection) seen.push(event.data);
      } catch (caught) {
        return caught;
      }
    })();
    expect(seen).toEqual(['one']);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).message).toMatch(/chunk that is not bytes \(a number\)/);
    expect(fetch.calls).toBe(1);
  });
});
