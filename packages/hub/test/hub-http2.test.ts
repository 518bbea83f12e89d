import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../../../test-support/binaries.js';
import {
  makeTestCertificate,
  type TestCertificate,
} from '../../../test-support/tls-certificate.js';
import { H2Exchange, openSession, publish, subscribe } from './h2-subscriber.js';
import { sleep, startHub, type TestHub } from './hub-harness.js';

const curl = requireBinary('curl', 'curl');

/** Headers RFC 9113 §8.2.2 forbids in an HTTP/2 message. */
const CONNECTION_SPECIFIC = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
];

let certificate: TestCertificate;
let t: TestHub | undefined;

beforeAll(() => {
  certificate = makeTestCertificate();
});
afterAll(() => certificate?.remove());
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function tlsHub(options: Parameters<typeof startHub>[0] = {}) {
  return startHub({
    ...options,
    listen: { tls: { cert: certificate.cert, key: certificate.key } },
  });
}

describe('the hub over HTTP/2 with TLS', () => {
  it('streams an update published on the same HTTP/2 connection, with no connection-specific header', async () => {
    t = await tlsHub();
    const session = await openSession(t.base);
    const subscriber = subscribe(session, 'topic=books');
    const head = await subscriber.head;
    expect(head[':status']).toBe(200);
    expect(head['content-type']).toBe('text/event-stream; charset=utf-8');
    for (const name of CONNECTION_SPECIFIC) expect(head[name]).toBeUndefined();
    const published = publish(session, await t.token({ publish: ['*'] }), {
      topic: 'books',
      data: 'over h2',
    });
    expect((await published.head)[':status']).toBe(200);
    await published.ended;
    const [, id] = (await subscriber.waitFor(/id: (\S+)\ndata: over h2\n\n/)) as string[];
    expect(published.body).toBe(id);
    session.close();
  });

  it('answers a refusal that says Connection: close (a publish refused before its body was read) on HTTP/2', async () => {
    t = await tlsHub();
    const session = await openSession(t.base);
    // No token, and the body still open: on HTTP/1.1 the hub answers with Connection: close.
    const refused = new H2Exchange(
      session,
      {
        ':method': 'POST',
        ':path': '/.well-known/mercure',
        'content-type': 'application/x-www-form-urlencoded',
      },
      'open',
    );
    refused.stream.write('topic=books&data=');
    const head = await refused.head;
    expect(head[':status']).toBe(401);
    for (const name of CONNECTION_SPECIFIC) expect(head[name]).toBeUndefined();
    refused.stream.end('x');
    await refused.ended;
    // The session is still good for another request.
    const health = new H2Exchange(session, { ':path': '/livez' });
    expect((await health.head)[':status']).toBe(200);
    session.close();
  });

  it('derives its URL from :authority and :scheme (draft-08 resource metadata)', async () => {
    t = await tlsHub({ mercureDrafts: ['07', '08'] });
    const session = await openSession(t.base);
    const refused = publish(session, 'not-a-token', { topic: 'books' });
    const head = await refused.head;
    expect(head[':status']).toBe(401);
    expect(head['www-authenticate']).toContain(`https://127.0.0.1:${t.port}/.well-known/`);
    session.close();
  });

  it('serves HTTP/1.1 on the same port to a client that asks for it by ALPN', async () => {
    t = await tlsHub();
    const answer = await new Promise<{ status: number; version: string; body: string }>(
      (resolve, reject) => {
        const request = httpsRequest(
          `${t!.base}/healthz`,
          // node:https offers only http/1.1 by ALPN.
          { rejectUnauthorized: false },
          (response) => {
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              body += chunk;
            });
            response.on('end', () =>
              resolve({ status: response.statusCode!, version: response.httpVersion, body }),
            );
          },
        );
        request.on('error', reject);
        request.end();
      },
    );
    expect(answer).toMatchObject({ status: 200, version: '1.1' });
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'ok' });
  });

  it('keeps the HTTP/1 time limits for HTTP/1.1 over TLS: a head that never ends gets 408', async () => {
    t = await tlsHub({ headersTimeoutMs: 300 });
    const socket = connectTls({
      host: '127.0.0.1',
      port: t.port,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('sends heartbeats on an HTTP/2 stream', async () => {
    t = await tlsHub({ heartbeatMs: 50 });
    const session = await openSession(t.base);
    const subscriber = subscribe(session, 'topic=quiet');
    await subscriber.head;
    await subscriber.waitFor(/:\n\n:\n\n/);
    session.close();
  });

  it('drops a subscriber that stops reading its HTTP/2 stream, and keeps the session for the others', async () => {
    t = await tlsHub({ maxQueueBytes: 256 * 1024, maxBodyBytes: 2 * 1024 * 1024 });
    const session = await openSession(t.base);
    const stalled = subscribe(session, 'topic=firehose');
    await stalled.head;
    stalled.stream.pause();
    const other = subscribe(session, 'topic=other');
    await other.head;
    const data = 'z'.repeat(1024 * 1024);
    for (let i = 0; i < 64 && t.hub.metrics.slowConsumersDropped === 0; i++) {
      await t.hub.publish({ topics: ['firehose'], data });
      // Let the fan-out write and the flow-control window fill.
      await sleep(5);
    }
    expect(t.hub.metrics.slowConsumersDropped).toBe(1);
    await t.hub.publish({ topics: ['other'], data: 'still here' });
    await other.waitFor(/data: still here\n\n/);
    session.close();
  });

  it('counts HTTP/2 streams against the per-address limit, with the reason', async () => {
    t = await tlsHub({ maxConnectionsPerIp: 2 });
    const session = await openSession(t.base);
    const open = [subscribe(session, 'topic=a'), subscribe(session, 'topic=b')];
    for (const stream of open) expect((await stream.head)[':status']).toBe(200);
    const third = subscribe(session, 'topic=c');
    expect((await third.head)[':status']).toBe(429);
    await third.ended;
    expect(third.body).toMatch(/too many open connections from 127\.0\.0\.1/);
    session.close();
  });

  it('serves the admin listener over HTTP/2 too', async () => {
    t = await tlsHub();
    const admin = await t.hub.listenAdmin(0, '127.0.0.1', {
      tls: { cert: certificate.cert, key: certificate.key },
    });
    const session = await openSession(`https://127.0.0.1:${admin.port}`);
    const metrics = new H2Exchange(session, { ':path': '/metrics' });
    expect((await metrics.head)[':status']).toBe(200);
    await metrics.ended;
    expect(metrics.body).toContain('tidings_');
    session.close();
  });

  it('sends GOAWAY on graceful shutdown after telling the streams to come back', async () => {
    t = await tlsHub({ shutdownRetryMs: 1000 });
    const session = await openSession(t.base);
    const goaway = new Promise<number>((resolve) => session.once('goaway', resolve));
    const subscriber = subscribe(session, 'topic=books');
    await subscriber.head;
    const closed = t.hub.close();
    expect(await goaway).toBe(0); // NGHTTP2_NO_ERROR: a graceful end
    await subscriber.ended;
    expect(subscriber.body).toMatch(/retry: \d+\n\n$/);
    await closed;
    t = undefined;
  });

  it('closes an HTTP/2 session left without streams after the keep-alive timeout', async () => {
    t = await tlsHub();
    t.hub.server!.keepAliveTimeout = 100;
    const session = await openSession(t.base);
    const health = new H2Exchange(session, { ':path': '/livez' });
    await health.ended;
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    await goaway;
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
  });

  it('keeps a quiet session while one of its streams is open', async () => {
    t = await tlsHub({ heartbeatMs: 0 });
    t.hub.server!.keepAliveTimeout = 50;
    const session = await openSession(t.base);
    let goaway = false;
    session.once('goaway', () => {
      goaway = true;
    });
    const subscriber = subscribe(session, 'topic=books');
    await subscriber.head;
    // Several keep-alive timeouts pass with nothing on the wire.
    await sleep(300);
    await t.hub.publish({ topics: ['books'], data: 'later' });
    await subscriber.waitFor(/data: later\n\n/);
    expect(goaway).toBe(false);
    session.close();
  });

  it.skipIf(!curl)('streams to curl --http2', async () => {
    t = await tlsHub();
    const base = t.base;
    const output = new Promise<string>((resolve) => {
      execFile(
        curl!,
        [
          '--http2',
          '--silent',
          '--insecure',
          '--no-buffer',
          '--include',
          '--max-time',
          '20',
          `${base}/.well-known/mercure?topic=books`,
        ],
        (_error, stdout) => resolve(stdout),
      );
    });
    // The stream is open once the hub counts it; then publish, then shut down so curl ends.
    while (t.hub.metrics.connections === 0) await sleep(10);
    await t.hub.publish({ topics: ['books'], data: 'to curl' });
    await t.hub.close();
    t = undefined;
    const text = await output;
    expect(text).toMatch(/^HTTP\/2 200/);
    expect(text).toContain('data: to curl\n\n');
    expect(text.toLowerCase()).not.toMatch(/^(connection|keep-alive|transfer-encoding):/m);
  });
});

describe('the hub with h2c (cleartext HTTP/2 beside HTTP/1.1)', () => {
  it('streams over HTTP/2 with prior knowledge, and answers HTTP/1.1 on the same port', async () => {
    t = await startHub({ listen: { h2c: true } });
    const session = await openSession(t.base);
    const subscriber = subscribe(session, 'topic=books');
    expect((await subscriber.head)[':status']).toBe(200);
    // HTTP/1.1 on the same port: the harness publishes with fetch.
    const response = await t.publish({ topic: 'books', data: 'h2c' });
    expect(response.status).toBe(200);
    expect(response.headers.get('connection')).toBe('keep-alive');
    await subscriber.waitFor(/data: h2c\n\n/);
    session.close();
  });

  it('tells HTTP/1.1 from HTTP/2 when the first bytes arrive one at a time', async () => {
    t = await startHub({ listen: { h2c: true } });
    const socket = connectTcp(t.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      answer += chunk;
    });
    // "P" and "PRI" could start either; "POST" cannot be HTTP/2.
    for (const byte of 'POST /.well-known/mercure HTTP/1.1\r\n') {
      socket.write(byte);
      await sleep(1);
    }
    socket.end('Host: x\r\nContent-Length: 0\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 415 /);
  });
});
