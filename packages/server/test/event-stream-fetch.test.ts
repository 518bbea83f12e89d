import { getEventListeners } from 'node:events';
import http2 from 'node:http2';
import { EventStream, sseResponse, streamStats } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFetchServers, serveFetch } from './support/fetch-server.js';
import { collectBody } from './support/fetch-subscriber.js';
import { RELEASED_STREAM_STATS } from './support/released-stream-stats.js';
import { connectHttp1, deferred, eventually, requestHttp2 } from './support/sse-client.js';

afterEach(async () => {
  await closeFetchServers();
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

describe('EventStream as a Fetch Response', () => {
  it('builds a Response with the event-stream headers and the initial retry', async () => {
    const stream = EventStream.fromRequest(
      new Request('http://localhost/events?lastEventId=5', { headers: { 'x-y': 'z' } }),
      { retry: 3000, headers: { 'X-Extra': 'yes' } },
    );
    const response = stream.response as Response;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-extra')).toBe('yes');
    // The runtime decides about the connection; on HTTP/2 the header would be an error.
    expect(response.headers.has('connection')).toBe(false);
    expect(stream.lastEventId).toBe('5');
    const { collector, reader } = collectBody(response.body as ReadableStream<Uint8Array>);
    stream.send({ data: 'hi' });
    await collector.waitForEvents(1);
    expect(collector.retries).toEqual([3000]);
    await reader.cancel();
    await eventually(() => stream.closed, 'the cancel to be noticed');
    expect(stream.closeReason).toBe('client');
  });

  it('closes when the request signal aborts, and removes its abort listener', async () => {
    const abort = new AbortController();
    const stream = EventStream.fromRequest(
      new Request('http://localhost/', { signal: abort.signal }),
    );
    const requestSignal = abort.signal;
    expect(getEventListeners(requestSignal, 'abort').length).toBeGreaterThan(0);
    const before = getEventListeners(requestSignal, 'abort').length;
    let closes = 0;
    stream.onClose(() => closes++);
    abort.abort();
    expect(stream.closed).toBe(true);
    expect(stream.closeReason).toBe('client');
    expect(stream.signal.aborted).toBe(true);
    expect(closes).toBe(1);
    expect(getEventListeners(requestSignal, 'abort').length).toBeLessThan(before);
    expect(streamStats()).toEqual(RELEASED_STREAM_STATS);
  });

  it('is closed from the start when the request was already aborted', () => {
    const stream = EventStream.fromRequest(
      new Request('http://localhost/', { signal: AbortSignal.abort() }),
    );
    expect(stream.closed).toBe(true);
    expect(stream.send({ data: 'x' })).toBe(false);
    expect(streamStats().open).toBe(0);
  });

  it('reports backpressure when the body is not read, and drains when it is', async () => {
    const stream = EventStream.fromRequest(new Request('http://localhost/'));
    const event = { data: 'x'.repeat(1000) };
    let sent = 0;
    while (stream.send(event)) sent++;
    expect(sent).toBeGreaterThan(10);
    expect(stream.bufferedBytes).toBeGreaterThan(0);
    const drained = stream.drained();
    const { collector, reader } = collectBody(stream.response?.body as ReadableStream<Uint8Array>);
    await drained;
    await collector.waitForEvents(sent + 1);
    await reader.cancel();
  });

  it('drops a body nobody reads once maxQueueBytes is exceeded', async () => {
    const stream = EventStream.fromRequest(new Request('http://localhost/'), {
      maxQueueBytes: 200_000,
    });
    const event = { data: 'x'.repeat(1000) };
    let maxBuffered = 0;
    for (let i = 0; i < 1000 && !stream.closed; i++) {
      stream.send(event);
      maxBuffered = Math.max(maxBuffered, stream.bufferedBytes);
    }
    expect(stream.closed).toBe(true);
    expect(stream.closeReason).toBe('slow-consumer');
    expect(maxBuffered).toBeLessThanOrEqual(200_000);
    await expect(stream.response?.body?.getReader().read()).rejects.toThrow(/torn down/);
  });
});

describe('sseResponse', () => {
  it('closes the stream and rethrows when the handler throws at once', () => {
    let seen: EventStream | undefined;
    expect(() =>
      sseResponse(new Request('http://localhost/'), (stream) => {
        seen = stream;
        throw new Error('no such topic');
      }),
    ).toThrow('no such topic');
    expect(seen?.closed).toBe(true);
  });

  it('closes the stream and reports a rejection to onError', async () => {
    const failed = deferred<unknown>();
    const response = sseResponse(
      new Request('http://localhost/'),
      async (stream) => {
        stream.send({ data: 'before' });
        await Promise.resolve();
        throw new Error('upstream failed');
      },
      { onError: (error) => failed.resolve(error) },
    );
    expect(String(await failed.promise)).toBe('Error: upstream failed');
    const { collector } = collectBody(response.body as ReadableStream<Uint8Array>);
    await collector.waitForEnd();
    expect(collector.events.map((e) => e.data)).toEqual(['before']);
  });
});

describe('EventStream.fromRequest served by @hono/node-server', () => {
  it('streams over HTTP/1.1 with the head first, and notices the client leaving', async () => {
    const opened = deferred<EventStream>();
    const base = await serveFetch((request) =>
      sseResponse(request, (stream) => opened.resolve(stream)),
    );
    const client = await connectHttp1(`${base}/`, { 'last-event-id': '12' });
    const stream = await opened.promise;
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(stream.lastEventId).toBe('12');
    stream.send({ id: '13', data: 'live' });
    expect(await client.collector.waitForEvents(1)).toEqual([
      { type: 'message', data: 'live', lastEventId: '13' },
    ]);
    const signal = stream.signal;
    client.close();
    await eventually(() => stream.closed, 'the disconnect to be noticed');
    expect(signal.aborted).toBe(true);
    expect(streamStats()).toEqual(RELEASED_STREAM_STATS);
  });

  it('streams over HTTP/2 without a Connection header', async () => {
    const opened = deferred<EventStream>();
    const base = await serveFetch(
      (request) => sseResponse(request, (stream) => opened.resolve(stream)),
      {
        http2: true,
      },
    );
    const session = http2.connect(base);
    session.on('error', () => {});
    const client = await requestHttp2(session, '/');
    const stream = await opened.promise;
    expect(client.headers[':status']).toBe(200);
    expect(client.headers.connection).toBeUndefined();
    stream.send({ data: 'over h2' });
    await client.collector.waitForEvents(1);
    client.close();
    await eventually(() => stream.closed, 'the reset to be noticed');
    session.close();
  });
});
