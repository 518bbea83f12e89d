import http2, {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { EventStream, streamStats } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import { RELEASED_STREAM_STATS } from './support/released-stream-stats.js';
import { closeServer, deferred, eventually, listen, requestHttp2 } from './support/sse-client.js';

let server: http2.Http2Server | undefined;
let session: http2.ClientHttp2Session | undefined;

afterEach(async () => {
  session?.close();
  session = undefined;
  if (server !== undefined) await closeServer(server);
  server = undefined;
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

async function start(
  onRequest: ((req: Http2ServerRequest, res: Http2ServerResponse) => void) | undefined,
  onStream?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
): Promise<http2.ClientHttp2Session> {
  server = http2.createServer(onRequest);
  if (onStream !== undefined) server.on('stream', onStream);
  const url = await listen(server);
  session = http2.connect(url);
  session.on('error', () => {});
  return session;
}

describe('EventStream on the node:http2 compatibility API', () => {
  it('sends the head at once, without connection-specific headers', async () => {
    const opened = deferred<EventStream>();
    const client = await start((req, res) =>
      opened.resolve(
        EventStream.fromNode(req, res, {
          retry: 1000,
          headers: { Connection: 'keep-alive', 'X-Extra': '1' },
        }),
      ),
    );
    const stream = await requestHttp2(client, '/?lastEventId=9');
    const eventStream = await opened.promise;
    expect(stream.headers[':status']).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers['x-extra']).toBe('1');
    expect(stream.headers.connection).toBeUndefined();
    expect(eventStream.lastEventId).toBe('9');
    await stream.collector.until(() => stream.collector.retries.length === 1, 'retry');
    eventStream.send({ event: 'hello', data: { h2: true } });
    expect(await stream.collector.waitForEvents(1)).toEqual([
      { type: 'hello', data: '{"h2":true}', lastEventId: '' },
    ]);
    stream.close();
    await eventually(() => eventStream.closed, 'the reset to be noticed');
    expect(eventStream.closeReason).toBe('client');
  });
});

describe('EventStream on core node:http2 streams', () => {
  it('responds with the event-stream head and reads Last-Event-ID', async () => {
    const opened = deferred<{ stream: EventStream; raw: ServerHttp2Stream }>();
    const client = await start(undefined, (raw, headers) =>
      opened.resolve({ stream: EventStream.fromHttp2Stream(raw, headers), raw }),
    );
    const stream = await requestHttp2(client, '/events', { 'last-event-id': 'abc' });
    const { stream: eventStream, raw } = await opened.promise;
    expect(stream.headers[':status']).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.connection).toBeUndefined();
    expect(eventStream.lastEventId).toBe('abc');
    expect(raw.listenerCount('close')).toBeGreaterThan(0);
    eventStream.send({ data: 'one' });
    await stream.collector.waitForEvents(1);

    // RST_STREAM from the client: noticed, and every listener the stream added is gone.
    const before = {
      close: raw.listenerCount('close'),
      drain: raw.listenerCount('drain'),
      error: raw.listenerCount('error'),
    };
    stream.close();
    await eventually(() => eventStream.closed, 'the reset to be noticed');
    expect(eventStream.closeReason).toBe('client');
    expect(raw.listenerCount('close')).toBe(before.close - 1);
    expect(raw.listenerCount('drain')).toBe(before.drain - 1);
    expect(raw.listenerCount('error')).toBe(before.error - 1);
    expect(streamStats()).toEqual(RELEASED_STREAM_STATS);
  });

  it('close() ends the stream cleanly after the queued events', async () => {
    const opened = deferred<EventStream>();
    const client = await start(undefined, (raw, headers) =>
      opened.resolve(EventStream.fromHttp2Stream(raw, headers)),
    );
    const stream = await requestHttp2(client, '/');
    const eventStream = await opened.promise;
    for (let i = 0; i < 50; i++) eventStream.send({ id: String(i), data: 'x' });
    eventStream.close();
    await stream.collector.waitForEnd();
    expect(stream.collector.events).toHaveLength(50);
    expect(stream.collector.events.at(-1)?.lastEventId).toBe('49');
  });

  it('carries many streams on one connection; one leaving does not disturb the others', async () => {
    const count = 150;
    const streams: EventStream[] = [];
    const client = await start(undefined, (raw, headers) => {
      streams.push(EventStream.fromHttp2Stream(raw, headers));
    });
    // More than the 100 concurrent streams that HTTP/2 recommends as a minimum (RFC 9113
    // §6.5.2), all in one session.
    const clients = await Promise.all(
      Array.from({ length: count }, (_, i) => requestHttp2(client, `/s/${i}`)),
    );
    expect(streams).toHaveLength(count);
    expect(streamStats()).toMatchObject({
      open: count,
      heartbeatTimers: 1,
      heartbeatStreams: count,
    });
    for (const stream of streams) stream.send({ data: 'first' });
    await Promise.all(clients.map((c) => c.collector.waitForEvents(1)));

    // Reset every other stream.
    for (let i = 0; i < count; i += 2) clients[i]?.close();
    await eventually(() => streamStats().open === count / 2, 'half the streams to close');
    for (const stream of streams) stream.send({ data: 'second' });
    await Promise.all(
      clients.filter((_, i) => i % 2 === 1).map((c) => c.collector.waitForEvents(2)),
    );
    for (let i = 0; i < count; i += 2) expect(clients[i]?.collector.events).toHaveLength(1);
    expect(streams.filter((s) => s.closed)).toHaveLength(count / 2);

    // The whole connection going away closes the rest.
    session?.destroy();
    await eventually(() => streamStats().open === 0, 'the rest to close');
    expect(streams.every((s) => s.closeReason === 'client')).toBe(true);
    expect(streamStats()).toEqual(RELEASED_STREAM_STATS);
  });
});
