import http2 from 'node:http2';
import { type EventStream, streamStats } from '@tidings/server';
import { sse } from '@tidings/server/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { connectHttp1, deferred, eventually, requestHttp2 } from './support/sse-client.js';

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

describe('@tidings/server/fastify', () => {
  it('decorates reply.sse(), keeping headers set on the reply', async () => {
    const opened = deferred<EventStream>();
    app = Fastify({ forceCloseConnections: true });
    await app.register(sse, { retry: 1500 });
    app.get('/events', async (_request, reply) => {
      reply.header('x-request-source', 'fastify');
      const stream = reply.sse();
      stream.send({ event: 'hello', data: { framework: 'fastify' } });
      opened.resolve(stream);
    });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const client = await connectHttp1(`${base}/events`, { 'last-event-id': 'f-1' });
    const stream = await opened.promise;
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['x-request-source']).toBe('fastify');
    expect(client.headers.connection).toBe('keep-alive');
    expect(stream.lastEventId).toBe('f-1');
    expect(await client.collector.waitForEvents(1)).toEqual([
      { type: 'hello', data: '{"framework":"fastify"}', lastEventId: '' },
    ]);
    expect(client.collector.retries).toEqual([1500]);
    client.close();
    await eventually(() => stream.closed, 'the disconnect');
    expect(stream.closeReason).toBe('client');
  });

  it('answers 500 with the reason when reply.sse() gets invalid options', async () => {
    app = Fastify();
    await app.register(sse);
    app.get('/bad', async (_request, reply) => {
      reply.sse({ heartbeatMs: -1 });
    });
    const response = await app.inject({ method: 'GET', url: '/bad' });
    expect(response.statusCode).toBe(500);
    expect(response.json().message).toMatch(/"heartbeatMs" must be a positive number/);
  });

  it('works with fastify over HTTP/2', async () => {
    const opened = deferred<EventStream>();
    const h2app = Fastify({ http2: true });
    app = h2app as unknown as FastifyInstance;
    await h2app.register(sse);
    h2app.get('/events', async (_request, reply) => {
      opened.resolve(reply.sse());
    });
    const base = await h2app.listen({ port: 0, host: '127.0.0.1' });
    const session = http2.connect(base);
    session.on('error', () => {});
    const client = await requestHttp2(session, '/events');
    const stream = await opened.promise;
    expect(client.headers[':status']).toBe(200);
    expect(client.headers.connection).toBeUndefined();
    stream.send({ data: 'h2 via fastify' });
    await client.collector.waitForEvents(1);
    client.close();
    await eventually(() => stream.closed, 'the reset');
    session.destroy();
  });
});
