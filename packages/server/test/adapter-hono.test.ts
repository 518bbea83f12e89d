import { Channel, type EventStream, streamStats } from '@tidings/server';
import { sse } from '@tidings/server/hono';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFetchServers, serveFetch } from './support/fetch-server.js';
import { connectHttp1, deferred, eventually } from './support/sse-client.js';

afterEach(async () => {
  await closeFetchServers();
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

describe('@tidings/server/hono', () => {
  it('returns an event-stream Response, keeping c.header() and middleware headers', async () => {
    const channel = new Channel();
    const opened = deferred<EventStream>();
    const app = new Hono();
    app.use('*', cors({ origin: 'https://app.example' }));
    app.get('/events', (c) => {
      c.header('x-topic', 'news');
      return sse(c, (stream) => {
        channel.subscribe(stream);
        opened.resolve(stream);
      });
    });
    const base = await serveFetch(app.fetch);
    const client = await connectHttp1(`${base}/events`, {
      origin: 'https://app.example',
      'last-event-id': 'h-3',
    });
    const stream = await opened.promise;
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache, no-transform');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.headers['x-topic']).toBe('news');
    expect(client.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(stream.lastEventId).toBe('h-3');
    // An unknown id: the gap notice, then live events.
    const { id } = channel.publish({ event: 'headline', data: { title: 'Hono streams' } });
    const events = await client.collector.waitForEvents(2);
    expect(events.map((e) => e.type)).toEqual(['tidings:history-gap', 'headline']);
    expect(events[1]).toEqual({
      type: 'headline',
      data: '{"title":"Hono streams"}',
      lastEventId: id,
    });
    const signal = stream.signal;
    client.close();
    await eventually(() => stream.closed, 'the disconnect');
    expect(signal.aborted).toBe(true);
    expect(channel.size).toBe(0);
  });

  it('reports a handler rejection to onError and closes the stream', async () => {
    const failed = deferred<unknown>();
    const app = new Hono();
    app.get('/llm', (c) =>
      sse(
        c,
        async (stream) => {
          await stream.pipe(
            (async function* () {
              yield 'tok';
              throw new Error('model overloaded');
            })(),
          );
        },
        { onError: (error) => failed.resolve(error) },
      ),
    );
    const base = await serveFetch(app.fetch);
    const client = await connectHttp1(`${base}/llm`);
    expect(String(await failed.promise)).toBe('Error: model overloaded');
    await client.collector.waitForEnd();
    expect(client.collector.events.map((e) => e.data)).toEqual(['tok']);
  });
});
