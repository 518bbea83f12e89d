import {
  ConnectionError,
  connect,
  EventDataError,
  type ReconnectContext,
  ResponseError,
  RetryLimitError,
  StallError,
} from '@tidings/client';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import {
  closeStartedServers,
  eventStreamHeaders,
  refusedUrl,
  startServer,
} from './support/http-server.js';
import { VirtualClock } from './support/virtual-clock.js';

afterEach(closeStartedServers);

/** Reads a connection in the background, as an application would; returns what it saw. */
function drain(connection: AsyncIterable<{ data: string }>): string[] {
  const seen: string[] = [];
  void (async () => {
    try {
      for await (const event of connection) seen.push(event.data);
    } catch {
      // The tests look at `closed` for the error.
    }
  })();
  return seen;
}

const noJitter = { jitter: 0 };

describe('connect(): reading', () => {
  it('yields events with type, data and lastEventId; break ends it and closes the request', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('id: 1\ndata: first\n\nevent: ping\ndata: a\ndata: b\n\n: heartbeat\n\n');
    });
    const seen: unknown[] = [];
    const connection = connect(server.url);
    for await (const event of connection) {
      seen.push(event);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([
      { type: 'message', data: 'first', lastEventId: '1' },
      { type: 'ping', data: 'a\nb', lastEventId: '1' },
    ]);
    await server.requests[0]?.closed;
    expect(connection.readyState).toBe(2);
    await expect(connection.closed).resolves.toBeUndefined();
  });

  it('sends Accept, Cache-Control, the caller headers and a Last-Event-ID given up front', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(204);
      response.end();
    });
    const connection = connect(server.url, {
      headers: { Authorization: 'Bearer abc' },
      lastEventId: 'résumé-41',
    });
    for await (const _ of connection) throw new Error('a 204 has no events');
    const headers = server.requests[0]?.headers;
    expect(headers?.accept).toBe('text/event-stream');
    expect(headers?.['cache-control']).toBe('no-cache');
    expect(headers?.authorization).toBe('Bearer abc');
    // UTF-8 bytes on the wire; node:http reads header bytes as latin1.
    expect(Buffer.from(headers?.['last-event-id'] as string, 'latin1').toString('utf8')).toBe(
      'résumé-41',
    );
  });

  it('ends cleanly on a 204: the server says there is nothing more', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(204);
      response.end();
    });
    const events = [];
    const connection = connect(server.url);
    for await (const event of connection) events.push(event);
    expect(events).toEqual([]);
    await expect(connection.closed).resolves.toBeUndefined();
    expect(server.requests).toHaveLength(1);
  });

  it('decodes JSON data for a typed event map', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end(
        'event: token\ndata: {"text":"Hel"}\n\nevent: token\ndata: {"text":"lo"}\n\nevent: done\ndata: null\n\n',
      );
    });
    type Chat = { token: { text: string }; done: null };
    let text = '';
    for await (const event of connect<Chat>(server.url, { parse: 'json', method: 'GET' })) {
      if (event.type === 'token') text += event.data.text;
      else break;
    }
    expect(text).toBe('Hello');
  });

  it('ends with an EventDataError naming the event when data is not JSON', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('id: 9\nevent: token\ndata: {oops\n\n');
    });
    const connection = connect(server.url, { parse: 'json' });
    const error = await (async () => {
      try {
        for await (const _ of connection);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(EventDataError);
    expect((error as EventDataError).message).toMatch(
      /^could not decode the data of a "token" event \(last event id "9"\)/,
    );
    expect((error as EventDataError).data).toBe('{oops');
    await server.requests[0]?.closed;
    await expect(connection.closed).rejects.toBe(error);
  });

  it('delivers to onevent instead of iterating; iterating it then is an error', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end('data: one\n\ndata: two\n\n');
    });
    const seen: string[] = [];
    const connection = connect(server.url, {
      onevent: (event) => {
        seen.push(event.data);
        if (seen.length === 2) connection.close();
      },
    });
    expect(() => connection[Symbol.asyncIterator]()).toThrow(/gives its events to onevent/);
    await connection.closed;
    expect(seen).toEqual(['one', 'two']);
  });

  it('has one reader: a second iteration is an error', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(204);
      response.end();
    });
    const connection = connect(server.url);
    connection[Symbol.asyncIterator]();
    expect(() => connection[Symbol.asyncIterator]()).toThrow(/already being iterated/);
    connection.close();
  });

  it('ends cleanly when the signal aborts, and the request is closed', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('data: hello\n\n');
    });
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const event of connect(server.url, { signal: controller.signal })) {
      seen.push(event.data);
      controller.abort();
    }
    expect(seen).toEqual(['hello']);
    await server.requests[0]?.closed;
  });

  it('does not even start with an aborted signal', async () => {
    const server = await startServer(() => {});
    const connection = connect(server.url, { signal: AbortSignal.abort() });
    for await (const _ of connection) throw new Error('no events expected');
    expect(server.requests).toHaveLength(0);
  });

  it('refuses bad options at once, with the reason', () => {
    expect(() => connect('/relative')).toThrow(/outside a page, URLs must be absolute/);
    expect(() => connect('http://x/', { method: 'GET', body: 'x' })).toThrow(
      /GET request cannot have a body/,
    );
    expect(() => connect('http://x/', { body: 'x', json: {} })).toThrow(/either body or json/);
    expect(() => connect('http://x/', { lastEventId: 'a\nb' })).toThrow(
      /must not contain CR, LF or NUL/,
    );
    expect(() => connect('http://x/', { maxAttempts: 0 })).toThrow(RangeError);
    expect(() => connect('http://x/', { stallTimeout: 0 })).toThrow(RangeError);
    expect(() => connect('http://x/', { backoff: { factor: -1 } })).toThrow(
      /backoff\.factor must be a finite number >= 0, got -1/,
    );
    expect(() => connect('http://x/', { parse: 'JSON' as 'json' })).toThrow(
      /parse must be 'text', 'json' or a function, got "JSON"/,
    );
    expect(() => connect('http://x/', { fetch: 'no' as unknown as typeof fetch })).toThrow(
      /fetch must be a function/,
    );
  });
});

describe('connect(): failing and reconnecting', () => {
  it('reconnects a GET when the stream ends, sending the id of the last event', async () => {
    const server = await startServer((_request, response, index) => {
      response.writeHead(200, eventStreamHeaders);
      response.end(index === 0 ? 'id: a\ndata: 1\n\nid: b\ndata: 2\n\n' : 'data: 3\n\n');
    });
    const clock = new VirtualClock({ auto: true });
    const seen: string[] = [];
    for await (const event of connect(server.url, { clock })) {
      seen.push(event.data);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['1', '2', '3']);
    expect(server.requests[1]?.headers['last-event-id']).toBe('b');
  });

  it('backs off exponentially while attempts fail, and starts over once one works', async () => {
    const server = await startServer((_request, response, index) => {
      if (index < 3) {
        response.writeHead(503, { 'Content-Type': 'text/plain' });
        response.end('busy');
        return;
      }
      response.writeHead(200, eventStreamHeaders);
      response.end(`data: ${index}\n\n`);
    });
    const clock = new VirtualClock();
    const errors: { message: string; delay: number | undefined }[] = [];
    const connection = connect(server.url, {
      clock,
      backoff: noJitter,
      onerror: (error, info) => errors.push({ message: error.message, delay: info.delay }),
    });
    const seen = drain(connection);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      await eventually(
        () => clock.pending().length === 1 && server.requests.length === attempt,
        `delay ${attempt}`,
      );
      delays.push(clock.runNext());
    }
    // Three 503s: 1 s, 2 s, 4 s. Then a stream that worked and ended: back to 1 s.
    expect(delays).toEqual([1000, 2000, 4000, 1000]);
    expect(errors.map((error) => error.delay)).toEqual([1000, 2000, 4000]);
    expect(errors[0]?.message).toMatch(
      /^HTTP 503 Service Unavailable from http:\/\/127\.0\.0\.1:\d+\/: busy$/,
    );
    expect(seen).toEqual(['3']);
    connection.close();
  });

  it("takes the server's retry: as the base of the backoff", async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end('retry: 250\ndata: x\n\n');
    });
    const clock = new VirtualClock();
    const connection = connect(server.url, { clock, backoff: noJitter });
    drain(connection);
    await eventually(() => clock.pending().length === 1, 'the reconnection timer');
    expect(clock.pending()).toEqual([250]);
    connection.close();
    expect(clock.pending()).toEqual([]);
  });

  it('waits as long as Retry-After asks', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(503, { 'Retry-After': '7' });
      response.end();
    });
    const clock = new VirtualClock();
    const connection = connect(server.url, { clock, backoff: noJitter });
    await eventually(() => clock.pending().includes(7000), 'the Retry-After delay');
    connection.close();
  });

  it('gives up after maxAttempts failures in a row, with the last failure as the cause', async () => {
    const clock = new VirtualClock({ auto: true });
    const connection = connect(await refusedUrl(), { clock, maxAttempts: 3, backoff: noJitter });
    const start = clock.now();
    const error = await connection.closed.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryLimitError);
    expect((error as RetryLimitError).attempts).toBe(3);
    expect((error as RetryLimitError).message).toMatch(
      /^gave up after 3 failed attempts in a row: could not connect/,
    );
    expect((error as RetryLimitError).cause).toBeInstanceOf(ConnectionError);
    // Two waits between three attempts: 1 s and 2 s.
    expect(clock.now() - start).toBe(3000);
  });

  it('ends a refused request with its own error, even at the attempt limit', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('no such topic');
    });
    const connection = connect(server.url, { maxAttempts: 1 });
    const error = await connection.closed.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).status).toBe(404);
  });

  it('does not retry a 401, and quotes what the server said', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(401, { 'Content-Type': 'application/json' });
      response.end('{"error": "token expired"}');
    });
    const told: { error: Error; willReconnect: boolean }[] = [];
    const connection = connect(server.url, {
      onerror: (error, info) => told.push({ error, willReconnect: info.willReconnect }),
    });
    const error = await connection.closed.catch((caught: unknown) => caught);
    expect(told).toEqual([{ error, willReconnect: false }]);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).status).toBe(401);
    expect((error as ResponseError).body).toBe('{"error": "token expired"}');
    expect((error as ResponseError).message).toMatch(
      /^HTTP 401 Unauthorized from .*: \{"error": "token expired"\}$/,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry a response that is not an event stream', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end('<h1>Sign in</h1>');
    });
    const connection = connect(server.url);
    const error = await connection.closed.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).message).toMatch(
      /^expected Content-Type text\/event-stream, got "text\/html" from .*: <h1>Sign in<\/h1>$/,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('lets onopen reject a response with its own error, which is then not retried', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { ...eventStreamHeaders, 'X-Protocol': '1' });
      response.write('data: never read\n\n');
    });
    const connection = connect(server.url, {
      onopen(response) {
        if (response.headers.get('x-protocol') !== '2') {
          throw new Error(`protocol ${response.headers.get('x-protocol')} is too old; need 2`);
        }
      },
    });
    await expect(connection.closed).rejects.toThrow('protocol 1 is too old; need 2');
    await server.requests[0]?.closed;
    expect(server.requests).toHaveLength(1);
  });

  it('lets shouldReconnect choose the delay, and tells it why', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end('id: 5\ndata: x\n\n');
    });
    const clock = new VirtualClock();
    const contexts: ReconnectContext[] = [];
    const connection = connect(server.url, {
      clock,
      shouldReconnect: (context) => {
        contexts.push(context);
        return 42;
      },
    });
    drain(connection);
    await eventually(() => clock.pending().length === 1, 'the reconnection timer');
    expect(clock.pending()).toEqual([42]);
    expect(contexts[0]).toMatchObject({
      reason: 'end',
      error: undefined,
      failures: 0,
      method: 'GET',
      lastEventId: '5',
      retryable: true,
    });
    connection.close();
  });
});

describe('connect(): POST', () => {
  it('sends the request once; the loop ends when the server ends the reply', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end('data: Hel\n\ndata: lo\n\n');
    });
    let reply = '';
    for await (const event of connect(server.url, { json: { prompt: 'hi' } })) reply += event.data;
    expect(reply).toBe('Hello');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ method: 'POST', body: '{"prompt":"hi"}' });
    expect(server.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('is not re-sent after a broken connection unless allowed: the error is thrown', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('data: partial\n\n');
      setTimeout(() => response.destroy(), 10);
    });
    const seen: string[] = [];
    const error = await (async () => {
      try {
        for await (const event of connect(server.url, { method: 'POST', body: 'prompt' }))
          seen.push(event.data);
      } catch (caught) {
        return caught;
      }
    })();
    expect(seen).toEqual(['partial']);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/^the connection to .* was lost/);
    expect(server.requests).toHaveLength(1);
  });

  it('is re-sent with Last-Event-ID when shouldReconnect allows; a body function runs per attempt', async () => {
    const server = await startServer((request, response, index) => {
      response.writeHead(200, eventStreamHeaders);
      if (index === 0) {
        response.write('id: t1\ndata: Hel\n\n');
        setTimeout(() => response.destroy(), 10);
      } else {
        response.end(`data: lo (resumed after ${request.headers['last-event-id']})\n\n`);
      }
    });
    const clock = new VirtualClock({ auto: true });
    let bodies = 0;
    const seen: string[] = [];
    const connection = connect(server.url, {
      clock,
      method: 'POST',
      body: () => `attempt ${++bodies}`,
      shouldReconnect: ({ reason, lastEventId }) => reason === 'network' && lastEventId !== '',
    });
    for await (const event of connection) seen.push(event.data);
    expect(seen).toEqual(['Hel', 'lo (resumed after t1)']);
    expect(server.requests.map((request) => request.body)).toEqual(['attempt 1', 'attempt 2']);
  });

  it('refuses to send a one-shot stream body twice, and says what to do instead', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end('data: x\n\n');
    });
    const clock = new VirtualClock({ auto: true });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const connection = connect(server.url, {
      clock,
      method: 'POST',
      body,
      shouldReconnect: () => true,
    });
    drain(connection);
    await expect(connection.closed).rejects.toThrow(/a ReadableStream body can be sent only once/);
    expect(server.requests.map((request) => request.body)).toEqual(['streamed']);
  });
});

describe('connect(): stall detection', () => {
  it('reconnects when no bytes arrive for stallTimeout; a heartbeat comment resets the clock', async () => {
    const server = await startServer((_request, response, index) => {
      response.writeHead(200, eventStreamHeaders);
      if (index === 0) {
        response.write('id: 1\ndata: a\n\n');
        heartbeat = () => response.write(': heartbeat\n\n');
      } else {
        response.write('data: b\n\n');
      }
    });
    let heartbeat: (() => void) | undefined;
    const clock = new VirtualClock();
    const errors: Error[] = [];
    const connection = connect(server.url, {
      clock,
      stallTimeout: 45_000,
      backoff: noJitter,
      onerror: (error) => errors.push(error),
    });
    const iterator = connection[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ data: 'a' });
    await eventually(() => clock.pending()[0] === 45_000, 'the stall timer');

    clock.advance(40_000);
    heartbeat?.();
    // The comment re-armed the timer: a full 45 s from now again.
    await eventually(() => clock.pending()[0] === 45_000, 'the re-armed stall timer');
    expect(server.requests).toHaveLength(1);

    clock.advance(45_000);
    await eventually(() => clock.pending()[0] === 1000, 'the reconnection delay');
    expect(errors[0]).toBeInstanceOf(StallError);
    expect(errors[0]?.message).toBe(
      'no bytes received for 45000 ms, not even a heartbeat comment; the connection is presumed dead',
    );
    await server.requests[0]?.closed;
    clock.runNext();
    expect((await iterator.next()).value).toMatchObject({ data: 'b' });
    expect(server.requests[1]?.headers['last-event-id']).toBe('1');
    connection.close();
  });

  it('does not count time spent waiting for a slow reader (backpressure) as a stall', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('data: 1\n\ndata: 2\n\n');
    });
    const clock = new VirtualClock();
    const connection = connect(server.url, { clock, stallTimeout: 1000 });
    const iterator = connection[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ data: '1' });
    // Event 2 waits for the reader, so the body is not being read: no stall timer runs.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(clock.pending()).toEqual([]);
    expect((await iterator.next()).value).toMatchObject({ data: '2' });
    await eventually(() => clock.pending()[0] === 1000, 'the stall timer');
    connection.close();
    expect(clock.pending()).toEqual([]);
  });
});

describe('connect(): pauseWhenHidden', () => {
  // Node has no page, so a stand-in document plays the Page Visibility API: a
  // `visibilityState` and `visibilitychange` events, which is all the client reads.
  type StandInDocument = EventTarget & { visibilityState: 'visible' | 'hidden' };
  const globals = globalThis as { document?: StandInDocument };
  function standInDocument(visibilityState: 'visible' | 'hidden'): StandInDocument {
    const document = Object.assign(new EventTarget(), { visibilityState });
    globals.document = document;
    return document;
  }
  function setVisibility(document: StandInDocument, state: 'visible' | 'hidden'): void {
    document.visibilityState = state;
    document.dispatchEvent(new Event('visibilitychange'));
  }
  afterEach(() => {
    delete globals.document;
  });

  it('closes the request while hidden and resumes with Last-Event-ID when shown', async () => {
    const server = await startServer((_request, response, index) => {
      response.writeHead(200, eventStreamHeaders);
      response.write(index === 0 ? 'id: 1\ndata: a\n\n' : 'data: b\n\n');
    });
    const document = standInDocument('visible');
    const connection = connect(server.url, { pauseWhenHidden: true });
    const iterator = connection[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ data: 'a' });

    setVisibility(document, 'hidden');
    await server.requests[0]?.closed;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(server.requests).toHaveLength(1);
    expect(connection.readyState).toBe(0);

    setVisibility(document, 'visible');
    expect((await iterator.next()).value).toMatchObject({ data: 'b' });
    expect(server.requests[1]?.headers['last-event-id']).toBe('1');
    connection.close();
  });

  it('waits for the page to be shown before the first request', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('data: a\n\n');
    });
    const document = standInDocument('hidden');
    const connection = connect(server.url, { pauseWhenHidden: true });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(server.requests).toHaveLength(0);
    setVisibility(document, 'visible');
    expect((await connection[Symbol.asyncIterator]().next()).value).toMatchObject({ data: 'a' });
    connection.close();
  });

  it('never pauses a POST that may not be sent again', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('data: a\n\n');
    });
    const document = standInDocument('visible');
    const connection = connect(server.url, { pauseWhenHidden: true, json: { prompt: 'hi' } });
    const iterator = connection[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ data: 'a' });
    setVisibility(document, 'hidden');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(connection.readyState).toBe(1);
    expect(server.requests).toHaveLength(1);
    connection.close();
  });
});

describe('connect(): the end-of-stream sentinel', () => {
  it("parse: 'json' ends cleanly at an OpenAI-style data: [DONE], and does not reconnect", async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      // The server keeps the response open: the sentinel alone must end the stream.
      response.write(
        'data: {"t":"Hel"}\n\ndata: {"t":"lo"}\n\ndata: [DONE]\n\ndata: {"t":"!"}\n\n',
      );
    });
    const connection = connect<{ message: { t: string } }>(server.url, { parse: 'json' });
    const seen: string[] = [];
    for await (const event of connection) seen.push(event.data.t);
    expect(seen).toEqual(['Hel', 'lo']);
    await expect(connection.closed).resolves.toBeUndefined();
    await server.requests[0]?.closed;
    expect(server.requests).toHaveLength(1);
  });

  it('doneSentinel: false turns it off: [DONE] is then data like any other', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('data: [DONE]\n\n');
    });
    const connection = connect(server.url, { parse: 'json', doneSentinel: false });
    await expect(connection.closed).rejects.toBeInstanceOf(EventDataError);
  });

  it('doneSentinel names other markers, for any parse; text has none by default', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.end('data: [DONE]\n\ndata: a\n\ndata: [END]\n\ndata: b\n\n');
    });
    // A POST is not sent again, so the end of the response ends each of these.
    const text: string[] = [];
    for await (const event of connect(server.url, { json: {} })) text.push(event.data);
    expect(text).toEqual(['[DONE]', 'a', '[END]', 'b']);
    const seen: string[] = [];
    const marked = connect(server.url, {
      json: {},
      doneSentinel: ['[END]', '[STOP]'],
      onevent: (event) => seen.push(event.data),
    });
    await marked.closed;
    expect(seen).toEqual(['[DONE]', 'a']);
  });

  it('rejects a doneSentinel that is not a string, a list of them or false', () => {
    for (const doneSentinel of [true, 3, [''], '', ['ok', 1]]) {
      expect(() =>
        connect('http://127.0.0.1:1/', { doneSentinel: doneSentinel as unknown as string }),
      ).toThrow(/doneSentinel must be/);
    }
  });
});
