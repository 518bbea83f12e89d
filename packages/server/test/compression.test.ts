import http, { type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { EventStream, streamStats } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import { RELEASED_STREAM_STATS } from './support/released-stream-stats.js';
import { closeServer, deferred, EventCollector, eventually, listen } from './support/sse-client.js';

let server: http.Server | http2.Http2Server | undefined;

afterEach(async () => {
  if (server !== undefined) await closeServer(server);
  server = undefined;
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

function decoderFor(encoding: string | undefined): zlib.Gunzip | zlib.BrotliDecompress | undefined {
  if (encoding === 'gzip') return zlib.createGunzip();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  return undefined;
}

interface Opened {
  stream: EventStream;
  res: ServerResponse;
}

async function open(acceptEncoding: string | undefined, compression = true) {
  const opened = deferred<Opened>();
  server = http.createServer((req, res) =>
    opened.resolve({ stream: EventStream.fromNode(req, res, { compression }), res }),
  );
  const base = await listen(server);
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(base, { agent: false, headers }, resolve).on('error', reject);
  });
  const collector = new EventCollector();
  const decoder = decoderFor(response.headers['content-encoding']);
  const source = decoder === undefined ? response : response.pipe(decoder);
  // A stream cut off mid-way is an unfinished compressed stream: the end of it, for a client.
  decoder?.on('error', () => collector.end());
  source.on('data', (chunk: Uint8Array) => collector.feed(chunk));
  source.on('end', () => collector.end());
  response.on('close', () => collector.end());
  return { response, collector, ...(await opened.promise) };
}

describe('compression', () => {
  it.each([
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'br'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0.5, br;q=0.4', 'gzip'],
    ['*', 'br'],
    ['identity', undefined],
    ['gzip;q=0', undefined],
  ])('with Accept-Encoding "%s" uses %s', async (accept, expected) => {
    const { response, collector, stream } = await open(accept);
    expect(response.headers['content-encoding']).toBe(expected);
    expect(response.headers.vary).toBe('accept-encoding');
    stream.send({ data: 'hello' });
    expect((await collector.waitForEvents(1))[0]?.data).toBe('hello');
    response.destroy();
  });

  it('is off by default, whatever the client accepts', async () => {
    const { response, collector, stream } = await open('gzip, br', false);
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.headers.vary).toBeUndefined();
    stream.send({ data: 'plain' });
    expect(
      Buffer.concat(await collector.waitForEvents(1).then(() => collector.chunks)).toString(),
    ).toBe('data: plain\n\n');
    response.destroy();
  });

  it.each(['gzip', 'br'])(
    'flushes %s after every event: each arrives before the next is sent',
    async (coding) => {
      const { response, collector, stream } = await open(coding);
      expect(response.headers['content-encoding']).toBe(coding);
      for (let i = 0; i < 20; i++) {
        stream.send({ id: String(i), data: `event ${i} `.repeat(20) });
        await collector.waitForEvents(i + 1);
      }
      expect(collector.events.map((e) => e.lastEventId)).toEqual(
        Array.from({ length: 20 }, (_, i) => String(i)),
      );
      stream.close();
      await collector.waitForEnd();
    },
  );

  it('frees the compressor and every listener when the client leaves', async () => {
    const { response, collector, stream, res } = await open('gzip');
    stream.send({ data: 'x' });
    await collector.waitForEvents(1);
    const listeners = () =>
      res.listenerCount('close') + res.listenerCount('drain') + res.listenerCount('error');
    const before = listeners();
    response.destroy();
    await eventually(() => stream.closed, 'the disconnect');
    expect(stream.closeReason).toBe('client');
    expect(listeners()).toBeLessThan(before);
    expect(res.listenerCount('unpipe')).toBe(0);
    expect(streamStats()).toEqual(RELEASED_STREAM_STATS);
  });

  it('compresses a core HTTP/2 stream', async () => {
    const opened = deferred<EventStream>();
    const h2 = http2.createServer();
    server = h2;
    h2.on('stream', (raw, headers) =>
      opened.resolve(EventStream.fromHttp2Stream(raw, headers, { compression: true })),
    );
    const session = http2.connect(await listen(h2));
    const request = session.request({ ':path': '/', 'accept-encoding': 'br' });
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) =>
      request.once('response', resolve),
    );
    expect(headers['content-encoding']).toBe('br');
    const collector = new EventCollector();
    const decoder = zlib.createBrotliDecompress();
    decoder.on('error', () => collector.end());
    request.on('error', () => {});
    request.pipe(decoder).on('data', (chunk: Uint8Array) => collector.feed(chunk));
    const stream = await opened.promise;
    stream.send({ data: 'over h2, compressed' });
    expect((await collector.waitForEvents(1))[0]?.data).toBe('over h2, compressed');
    session.destroy();
  });

  it('compresses a Fetch response body', async () => {
    const stream = EventStream.fromRequest(
      new Request('http://localhost/', { headers: { 'accept-encoding': 'gzip' } }),
      { compression: true },
    );
    const response = stream.response as Response;
    expect(response.headers.get('content-encoding')).toBe('gzip');
    const gunzip = zlib.createGunzip();
    const collector = new EventCollector();
    gunzip.on('data', (chunk: Uint8Array) => collector.feed(chunk));
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        gunzip.write(value);
      }
      gunzip.end();
    })();
    stream.send({ data: 'one' });
    await collector.waitForEvents(1);
    stream.send({ data: 'two' });
    await collector.waitForEvents(2);
    stream.close();
    await eventually(() => collector.chunks.length > 0 && gunzip.writableEnded, 'the body to end');
    expect(collector.events.map((e) => e.data)).toEqual(['one', 'two']);
  });
});
