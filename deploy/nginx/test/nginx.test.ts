import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventSource } from '@tidings/client';
import { createParser, type ServerSentEvent } from '@tidings/protocol';
import { EventStream } from '@tidings/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../../../test-support/binaries.js';
import { type RunningNginx, startNginx } from './nginx-process.js';

const nginxBinary = requireBinary('nginx', 'nginx');

/** One event stream the upstream opened: the test decides when each event is sent. */
interface UpstreamStream {
  path: string;
  headers: IncomingHttpHeaders;
  stream: EventStream;
}

/**
 * A Tidings server behind nginx that sends nothing on its own: each test sends events one at
 * a time through the streams it hands out.
 */
class Upstream {
  readonly server: Server;
  readonly #opened: UpstreamStream[] = [];
  readonly #waiting: ((stream: UpstreamStream) => void)[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      const stream = EventStream.fromNode(req, res, { heartbeatMs: false });
      const opened = { path: req.url ?? '', headers: req.headers, stream };
      const waiter = this.#waiting.shift();
      if (waiter) waiter(opened);
      else this.#opened.push(opened);
    });
  }

  /** The next stream nginx opens upstream. */
  next(): Promise<UpstreamStream> {
    const ready = this.#opened.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/**
 * A client reading an event stream through nginx with fetch and our parser. It does not wait
 * for the response head: an nginx that buffers may hold back the head too.
 */
class Reader {
  readonly events: ServerSentEvent[] = [];
  readonly response: Promise<Response>;
  readonly #controller = new AbortController();
  #wake: (() => void) | undefined;

  constructor(url: string, headers: Record<string, string> = {}) {
    const response = fetch(url, { headers, signal: this.#controller.signal });
    this.response = response;
    const parser = createParser({
      onEvent: (event) => {
        this.events.push(event);
        this.#wake?.();
      },
    });
    (async () => {
      const body = (await response).body!.getReader();
      for (;;) {
        const { done, value } = await body.read();
        if (done) return;
        parser.feed(value);
      }
    })().catch(() => undefined);
  }

  /** Resolves with the `count`-th event, or with undefined if it has not arrived within `ms`. */
  async nth(count: number, ms: number): Promise<ServerSentEvent | undefined> {
    const deadline = Date.now() + ms;
    while (this.events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.events[count - 1];
  }

  close(): void {
    this.#controller.abort();
  }
}

describe.skipIf(!nginxBinary)('deploy/nginx in front of a Tidings server', () => {
  const upstream = new Upstream();
  let nginx: RunningNginx;
  let base: string;

  beforeAll(async () => {
    upstream.server.listen(0, '127.0.0.1');
    await once(upstream.server, 'listening');
    nginx = await startNginx(nginxBinary!, (upstream.server.address() as AddressInfo).port);
    base = `http://127.0.0.1:${nginx.port}`;
  });

  afterAll(async () => {
    await nginx?.stop();
    upstream.server.closeAllConnections();
    upstream.server.close();
  });

  /**
   * Sends five events, each only after the client has seen the one before: an nginx that
   * buffered would hold the first one back and the client would never see it in time.
   */
  async function expectOneByOne(path: string) {
    const client = new Reader(`${base}${path}`, { 'Accept-Encoding': 'gzip, br' });
    const { stream, headers } = await upstream.next();
    for (let i = 1; i <= 5; i++) {
      stream.send({ id: String(i), data: `event ${i}` });
      const seen = await client.nth(i, 2_000);
      if (seen === undefined) {
        throw new Error(
          `event ${i} did not reach the client through ${path}:\n${nginx.errorLog()}`,
        );
      }
      expect(seen.data).toBe(`event ${i}`);
      expect(seen.lastEventId).toBe(String(i));
    }
    client.close();
    stream.close();
    return { response: await client.response, upstreamHeaders: headers };
  }

  it('passes events one by one, uncompressed, through the SSE location (sse-proxy.conf)', async () => {
    const { response, upstreamHeaders } = await expectOneByOne('/events');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // gzip is on for the server, off for event streams: the client asked for gzip and got none.
    expect(response.headers.get('content-encoding')).toBeNull();
    // `proxy_set_header Connection ""` keeps the upstream connection reusable.
    expect(upstreamHeaders.connection).toBeUndefined();
    expect(upstreamHeaders['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('passes events one by one through the Mercure hub location', async () => {
    await expectOneByOne('/.well-known/mercure?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1');
  });

  it("honours the server's X-Accel-Buffering: no where nginx's defaults buffer", async () => {
    await expectOneByOne('/defaults/events');
  });

  // The control shows that the tests above can fail: where nginx buffers, the first event does
  // not get through while the stream stays open, and arrives only once the stream ends.
  it('holds events back where buffering is on and X-Accel-Buffering is ignored (control)', async () => {
    const client = new Reader(`${base}/buffered/events`);
    const { stream } = await upstream.next();
    stream.send({ id: '1', data: 'event 1' });
    expect(await client.nth(1, 750)).toBeUndefined();
    stream.close();
    const late = await client.nth(1, 2_000);
    client.close();
    expect(late?.data).toBe('event 1');
  });

  it('carries Last-Event-ID to the server when an EventSource reconnects', async () => {
    const source = new EventSource(`${base}/events`);
    try {
      const first = await upstream.next();
      expect(first.stream.lastEventId).toBe('');
      const received: string[] = [];
      const third = new Promise<void>((resolve) => {
        source.onmessage = (event) => {
          received.push(event.data);
          if (received.length === 3) resolve();
        };
      });
      // A short reconnection delay, then three events; then the server drops the stream.
      first.stream.send({ retry: 50 });
      for (let i = 1; i <= 3; i++) first.stream.send({ id: `id-${i}`, data: `event ${i}` });
      await third;
      first.stream.close();

      const second = await upstream.next();
      expect(second.headers['last-event-id']).toBe('id-3');
      expect(second.stream.lastEventId).toBe('id-3');
      second.stream.close();
    } finally {
      source.close();
    }
  });

  it('carries the lastEventId query parameter, for clients that cannot set headers', async () => {
    const client = new Reader(`${base}/events?lastEventId=id-42`);
    const { stream } = await upstream.next();
    expect(stream.lastEventId).toBe('id-42');
    client.close();
    stream.close();
  });
});

describe.skipIf(!nginxBinary)('deploy/nginx/nginx.conf', () => {
  it('is a configuration nginx accepts (nginx -t)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-nginx-conf-'));
    try {
      const deployDir = fileURLToPath(new URL('..', import.meta.url));
      // Only the machine-specific paths change: the snippet's location, the logs and the pid.
      const config = readFileSync(join(deployDir, 'nginx.conf'), 'utf8')
        .replace('/etc/nginx/snippets/sse-proxy.conf', join(deployDir, 'sse-proxy.conf'))
        .replaceAll('/etc/nginx/snippets/sse-proxy.conf', join(deployDir, 'sse-proxy.conf'))
        .replace('pid /run/nginx.pid;', `pid ${join(dir, 'nginx.pid')};`)
        .replace(/access_log \S+;/, `access_log ${join(dir, 'access.log')};`)
        .replace(/error_log \S+;/, `error_log ${join(dir, 'error.log')};`);
      writeFileSync(join(dir, 'nginx.conf'), config);
      const result = spawnSync(
        nginxBinary!,
        ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
        { encoding: 'utf8' },
      );
      expect(result.stderr).toContain('test is successful');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
