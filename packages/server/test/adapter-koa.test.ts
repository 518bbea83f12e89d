import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { streamStats } from '@tidings/server';
import { sse } from '@tidings/server/koa';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, connectHttp1, deferred, eventually } from './support/sse-client.js';

let server: http.Server | undefined;

afterEach(async () => {
  if (server !== undefined) await closeServer(server);
  server = undefined;
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

async function start(app: Koa): Promise<string> {
  const ready = deferred<void>();
  server = app.listen(0, '127.0.0.1', () => ready.resolve());
  await ready.promise;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('@tidings/server/koa', () => {
  it('gives ctx.sse on matching requests: objects as JSON, data starting with ":" intact', async () => {
    const app = new Koa();
    app.use(sse({ match: (ctx) => ctx.path === '/sse' }));
    app.use((ctx) => {
      if (ctx.sse === undefined) {
        ctx.body = 'not an event stream';
        return;
      }
      ctx.sse.send({ data: { message: 'hello', at: 1 } });
      ctx.sse.send({ data: ': not a comment' });
      ctx.sse.send({ event: 'notice', data: 'a notice' });
    });
    const base = await start(app);
    const response = await fetch(`${base}/other`);
    expect(await response.text()).toBe('not an event stream');

    const client = await connectHttp1(`${base}/sse`);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.headers.connection).toBe('keep-alive');
    const events = await client.collector.waitForEvents(3);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['message', '{"message":"hello","at":1}'],
      ['message', ': not a comment'],
      ['notice', 'a notice'],
    ]);
    // Returning from the middleware did not end the stream.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.collector.ended).toBe(false);
    client.close();
  });

  it('sendEnd() sends the closing event, then ends the response', async () => {
    const app = new Koa();
    app.use(sse({ endEvent: 'bye' }));
    app.use((ctx) => {
      ctx.sse?.send({ data: 'only event' });
      ctx.sse?.sendEnd();
    });
    const base = await start(app);
    const client = await connectHttp1(base);
    await client.collector.waitForEnd();
    expect(client.collector.events.map((e) => [e.type, e.data])).toEqual([
      ['message', 'only event'],
      ['bye', ''],
    ]);

    const custom = new Koa();
    custom.use(sse());
    custom.use((ctx) => ctx.sse?.sendEnd({ data: { reason: 'done' } }));
    await closeServer(server as http.Server);
    const other = await connectHttp1(await start(custom));
    await other.collector.waitForEnd();
    expect(other.collector.events).toEqual([
      { type: 'end', data: '{"reason":"done"}', lastEventId: '' },
    ]);
  });

  it('answers 503 with Retry-After beyond maxClients, and admits again once one leaves', async () => {
    const app = new Koa();
    app.use(sse({ maxClients: 2, retryAfter: 7 }));
    app.use((ctx) => {
      ctx.sse?.send({ data: 'welcome' });
    });
    const base = await start(app);
    const first = await connectHttp1(base);
    const second = await connectHttp1(base);
    await first.collector.waitForEvents(1);
    await second.collector.waitForEvents(1);
    const refused = await fetch(base, { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(await refused.text()).toMatch(
      /Too many event-stream clients \(maxClients 2\); retry in 7 s/,
    );
    first.close();
    await eventually(() => streamStats().open === 1, 'the first client to leave');
    const third = await connectHttp1(base);
    expect(third.status).toBe(200);
    await third.collector.waitForEvents(1);
    second.close();
    third.close();
  });

  it('pings at pingInterval', async () => {
    const app = new Koa();
    app.use(sse({ pingInterval: 30 }));
    const base = await start(app);
    const client = await connectHttp1(base);
    await client.collector.until(() => client.collector.comments.length >= 2, 'two pings');
    expect(client.collector.events).toHaveLength(0);
    client.close();
  });

  it('closes the stream when downstream middleware throws', async () => {
    const app = new Koa();
    const reported = deferred<unknown>();
    app.on('error', (error) => reported.resolve(error));
    app.use(sse());
    app.use(async (ctx) => {
      ctx.sse?.send({ data: 'started' });
      throw new Error('downstream failed');
    });
    const base = await start(app);
    const client = await connectHttp1(base);
    await client.collector.waitForEnd();
    expect(client.collector.events.map((e) => e.data)).toEqual(['started']);
    expect(String(await reported.promise)).toBe('Error: downstream failed');
  });

  it('rejects invalid options when the middleware is made', () => {
    expect(() => sse({ maxClients: -1 })).toThrow(/"maxClients"/);
    expect(() => sse({ retryAfter: 1.5 })).toThrow(/"retryAfter"/);
  });
});
