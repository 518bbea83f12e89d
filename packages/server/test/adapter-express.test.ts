import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { Channel, type EventStream, streamStats } from '@tidings/server';
import { eventStream, sse } from '@tidings/server/express';
import compression from 'compression';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServer,
  connectHttp1,
  deferred,
  EventCollector,
  eventually,
} from './support/sse-client.js';

let server: http.Server | undefined;

afterEach(async () => {
  if (server !== undefined) await closeServer(server);
  server = undefined;
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

async function start(app: express.Express): Promise<string> {
  const ready = deferred<void>();
  server = app.listen(0, '127.0.0.1', () => ready.resolve());
  await ready.promise;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('@tidings/server/express', () => {
  it('streams a Channel through sse(), with headers from earlier middleware and replay', async () => {
    const channel = new Channel();
    const first = channel.publish({ data: 'before you came' }).id;
    channel.publish({ event: 'greeting', data: { text: 'missed while away' } });
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('Access-Control-Allow-Origin', 'https://app.example');
      next();
    });
    app.get(
      '/events',
      sse((stream) => channel.subscribe(stream), { retry: 2000 }),
    );
    const base = await start(app);

    const client = await connectHttp1(`${base}/events`, { 'last-event-id': first });
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache, no-transform');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.headers.connection).toBe('keep-alive');
    expect(client.headers['access-control-allow-origin']).toBe('https://app.example');
    const live = channel.publish({ data: 'live' }).id;
    const events = await client.collector.waitForEvents(2);
    expect(client.collector.retries).toEqual([2000]);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['greeting', '{"text":"missed while away"}'],
      ['message', 'live'],
    ]);
    expect(events[1]?.lastEventId).toBe(live);
    expect(channel.size).toBe(1);
    client.close();
    await eventually(() => channel.size === 0, 'the subscriber to leave');
  });

  it('gives an EventStream for req, res in a plain route', async () => {
    const opened = deferred<EventStream>();
    const app = express();
    app.get('/plain', (req, res) => opened.resolve(eventStream(req, res)));
    const base = await start(app);
    const client = await connectHttp1(`${base}/plain?lastEventId=41`);
    const stream = await opened.promise;
    expect(stream.lastEventId).toBe('41');
    stream.send({ id: '42', data: 'answer' });
    expect(await client.collector.waitForEvents(1)).toEqual([
      { type: 'message', data: 'answer', lastEventId: '42' },
    ]);
    stream.close();
    await client.collector.waitForEnd();
  });

  it('closes the stream and passes a handler failure to the error middleware', async () => {
    const failed = deferred<unknown>();
    const app = express();
    app.get(
      '/broken',
      sse(async (stream) => {
        stream.send({ data: 'partial' });
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error('database down');
      }),
    );
    app.use((error: unknown, _req: Request, _res: Response, next: NextFunction) => {
      failed.resolve(error);
      next(error);
    });
    const base = await start(app);
    const client = await connectHttp1(`${base}/broken`);
    expect(String(await failed.promise)).toBe('Error: database down');
    await client.collector.waitForEnd();
    expect(client.collector.events.map((e) => e.data)).toEqual(['partial']);
  });

  it('is left alone by the compression middleware, which honours no-transform', async () => {
    const opened = deferred<EventStream>();
    const app = express();
    app.use(compression());
    app.get(
      '/events',
      sse((stream) => opened.resolve(stream)),
    );
    const base = await start(app);
    const client = await connectHttp1(`${base}/events`, { 'accept-encoding': 'gzip' });
    expect(client.headers['content-encoding']).toBeUndefined();
    const stream = await opened.promise;
    stream.send({ data: 'plain' });
    await client.collector.waitForEvents(1);
    client.close();
  });

  it('flushes the compression middleware after every event when it does compress', async () => {
    const opened = deferred<EventStream>();
    const app = express();
    app.use(compression());
    app.get(
      '/events',
      sse((stream) => opened.resolve(stream), { headers: { 'Cache-Control': 'no-cache' } }),
    );
    const base = await start(app);
    const response = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(`${base}/events`, { agent: false, headers: { 'accept-encoding': 'gzip' } }, resolve),
    );
    // The middleware compresses this response: without a flush, zlib would sit on each event.
    expect(response.headers['content-encoding']).toBe('gzip');
    const collector = new EventCollector();
    const gunzip = response.pipe(zlib.createGunzip());
    gunzip.on('error', () => collector.end());
    gunzip.on('data', (chunk: Uint8Array) => collector.feed(chunk));
    const stream = await opened.promise;
    for (let i = 0; i < 5; i++) {
      stream.send({ id: String(i), data: `event ${i}` });
      await collector.waitForEvents(i + 1);
    }
    response.destroy();
  });
});
