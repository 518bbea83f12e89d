/**
 * The test server for the conformance cases: the behaviour of the web-platform-tests
 * `eventsource/resources/*.py` handlers (and `/common/redirect.py`), rewritten for node:http
 * (see LICENSE-wpt.md). Where a WPT handler keeps state in a cookie, this one keeps it in
 * memory, keyed by the `id` the case sends: Node's fetch has no cookie jar.
 *
 * It listens on two ports of 127.0.0.1: two origins of one site, for the CORS cases (one
 * site, so cookies are first-party and today's third-party cookie rules stay out of the way).
 * It also serves the page the browser runners use, with the built client and protocol
 * packages.
 *
 * One addition to the WPT handlers: the CORS handlers answer preflights. An EventSource on
 * fetch (ours, in a page) cannot send `Last-Event-ID` cross-origin without one; a browser's
 * own EventSource never sends one here, so its results are unchanged.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize, sep } from 'node:path';

export interface WptServer {
  /** http://127.0.0.1:port: the page's origin in the browser runners. */
  origin: string;
  /** http://127.0.0.1:another-port: the other origin. */
  crossOrigin: string;
  /** Every request the server answered, for assertions on what clients sent. */
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

type Handler = (
  request: IncomingMessage,
  response: ServerResponse,
  query: Query,
) => void | Promise<void>;

const require = createRequire(import.meta.url);
const PACKAGE_DIRS: Record<string, string> = {
  client: dirname(require.resolve('@tidings/client/package.json')),
  protocol: dirname(require.resolve('@tidings/protocol/package.json')),
};

/** The harness page: an import map lets the built ESM (bare `@tidings/protocol`) load as is. */
const HARNESS_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tidings EventSource conformance</title>
<script type="importmap">
{"imports": {"@tidings/client": "/pkg/client/dist/index.js", "@tidings/protocol": "/pkg/protocol/dist/index.js"}}
</script>
<script type="module">
  import * as client from '@tidings/client';
  globalThis.TidingsClient = client;
  globalThis.TidingsEventSource = client.EventSource;
</script>
<body></body>`;

/** Query parameters decoded to bytes, as the Python handlers see them (`+` is a space). */
class Query {
  readonly #values = new Map<string, Buffer>();

  constructor(search: string) {
    for (const part of search.split('&')) {
      if (part === '') continue;
      const equals = part.indexOf('=');
      const name = decode(equals === -1 ? part : part.slice(0, equals)).toString('utf8');
      // The first value wins, like request.GET.first().
      if (!this.#values.has(name))
        this.#values.set(name, decode(equals === -1 ? '' : part.slice(equals + 1)));
    }
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  bytes(name: string, fallback: string): Buffer {
    return this.#values.get(name) ?? Buffer.from(fallback, 'utf8');
  }

  text(name: string, fallback: string): string {
    return this.bytes(name, fallback).toString('utf8');
  }
}

function decode(component: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < component.length; i++) {
    const c = component.charCodeAt(i);
    if (c === 0x2b) {
      bytes.push(0x20);
    } else if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(component.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(component.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const byte of Buffer.from(component[i] ?? '', 'utf8')) bytes.push(byte);
    }
  }
  return Buffer.from(bytes);
}

/** Header values arrive decoded as latin1; this gives back the bytes that were sent. */
function headerBytes(request: IncomingMessage, name: string): Buffer {
  const value = request.headers[name];
  return Buffer.from(typeof value === 'string' ? value : '', 'latin1');
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
  reason?: string,
): void {
  response.writeHead(status, reason ?? '', headers);
  response.end(body);
}

export async function startWptServer(): Promise<WptServer> {
  // State the WPT handlers keep in cookies: the step each reconnecting test is at.
  const state = new Map<string, string>();
  const requests: WptServer['requests'] = [];

  // eventsource/resources/message.py: `message` + `newline` (default a blank line) + LF.
  const message: Handler = async (_request, response, query) => {
    const sleep = Number(query.text('sleep', '0'));
    if (sleep > 0) await new Promise((resolve) => setTimeout(resolve, sleep));
    const newline = query.text('newline', '') === 'none' ? '' : '\n\n';
    const body = Buffer.concat([query.bytes('message', 'data: data'), Buffer.from(`${newline}\n`)]);
    send(response, 200, { 'Content-Type': query.text('mime', 'text/event-stream') }, body);
  };

  // eventsource/resources/status-error.py: the status with reason HAHAHAHA; 204/205 without a body.
  const statusError: Handler = (_request, response, query) => {
    const status = Number(query.text('status', '404'));
    const body = status === 204 || status === 205 ? '' : 'data: data\n\n';
    send(response, status, { 'Content-Type': 'text/event-stream' }, body, 'HAHAHAHA');
  };

  // eventsource/resources/status-reconnect.py: `status` first (with retry: 2), then 200 + data.
  const statusReconnect: Handler = (_request, response, query) => {
    const status = query.text('status', '204');
    const key = `status-reconnect:${query.text('id', status)}`;
    const headers = { 'Content-Type': 'text/event-stream' };
    if (state.get(key) === status) {
      state.delete(key);
      send(response, 200, headers, 'data: data\n\n');
      return;
    }
    state.set(key, status);
    const body = `retry: 2\n${query.has('ok_first') ? 'data: ok\n\n' : ''}`;
    send(response, Number(status), headers, body, 'TEST');
  };

  // eventsource/resources/reconnect-fail.py: "opened" (retry: 2), "reconnected", then 204.
  const reconnectFail: Handler = (_request, response, query) => {
    const key = `reconnect-fail:${query.text('id', '')}`;
    const headers = { 'Content-Type': 'text/event-stream' };
    const step = state.get(key);
    if (step === 'opened') {
      state.set(key, 'reconnected');
      send(response, 200, headers, 'data: reconnected\n\n', 'RECONNECT');
    } else if (step === 'reconnected') {
      state.delete(key);
      send(response, 204, headers, '', 'NO CONTENT (CLOSE)');
    } else {
      state.set(key, 'opened');
      send(response, 200, headers, 'retry: 2\ndata: opened\n\n', 'OPEN');
    }
  };

  // eventsource/resources/last-event-id.py: echo Last-Event-ID, else send `id: <idvalue>`.
  const lastEventId: Handler = (request, response, query) => {
    const headers = { 'Content-Type': 'text/event-stream' };
    const received = headerBytes(request, 'last-event-id');
    if (received.length > 0) {
      send(
        response,
        200,
        headers,
        Buffer.concat([Buffer.from('data: '), received, Buffer.from('\n\n')]),
      );
      return;
    }
    const id = query.bytes('idvalue', '\u2026');
    const body = Buffer.concat([
      Buffer.from('id: '),
      id,
      Buffer.from('\nretry: 200\ndata: hello\n\n'),
    ]);
    send(response, 200, headers, body);
  };

  // eventsource/resources/last-event-id2.py: ids that persist, change, reset.
  const lastEventId2: Handler = (_request, response, query) => {
    const bodies: Record<string, string> = {
      '1': 'id: 1\ndata: 1\n\ndata:2\n\n',
      '2': 'id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n',
      '3': 'id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n',
    };
    const body = bodies[query.text('type', '1')] ?? 'data: invalid_test\n\n';
    send(response, 200, { 'Content-Type': 'text/event-stream' }, body);
  };

  // eventsource/resources/accept.php and cache-control.event_stream: echo a request header.
  const echo =
    (header: string): Handler =>
    (request, response) => {
      const body = Buffer.concat([
        Buffer.from('data: '),
        headerBytes(request, header),
        Buffer.from('\n\n'),
      ]);
      send(response, 200, { 'Content-Type': 'text/event-stream' }, body);
    };

  // common/redirect.py: `status` (default 302) to `location`.
  const redirect: Handler = (_request, response, query) => {
    const status = Number(query.text('status', '302'));
    send(response, status, { Location: query.text('location', '/') }, '');
  };

  // eventsource/resources/cors.py: CORS headers, then another handler.
  const corsHandlers: Record<string, Handler> = {
    message,
    redirect,
    'status-reconnect': statusReconnect,
    'cache-control': echo('cache-control'),
  };
  const cors: Handler = (request, response, query) => {
    if (answerPreflight(request, response)) return;
    const origin = query.has('origin') ? query.text('origin', '') : request.headers.origin;
    if (origin !== undefined) response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Access-Control-Allow-Credentials', query.text('credentials', 'true'));
    const handler = corsHandlers[query.text('run', '')];
    if (handler === undefined) {
      send(response, 400, { 'Content-Type': 'text/plain' }, 'unknown run parameter');
      return;
    }
    return handler(request, response, query);
  };

  // eventsource/resources/cors-cookie.py: reports whether the cookie `ident` came along.
  const corsCookie: Handler = (request, response, query) => {
    if (answerPreflight(request, response)) return;
    const ident = query.text('ident', 'test');
    const cookies = (request.headers.cookie ?? '')
      .split(';')
      .map((part) => part.trim().split('=')[0]);
    const cookie = cookies.includes(ident) ? 'COOKIE' : 'NO_COOKIE';
    const origin = query.has('origin') ? query.text('origin', '') : request.headers.origin;
    if (origin !== undefined && origin !== 'none')
      response.setHeader('Access-Control-Allow-Origin', origin);
    const credentials = query.text('credentials', 'true');
    if (credentials !== 'none') response.setHeader('Access-Control-Allow-Credentials', credentials);
    const last = headerBytes(request, 'last-event-id').toString('latin1');
    if (last === '') {
      response.setHeader('Set-Cookie', `${ident}=COOKIE; Path=/`);
      send(
        response,
        200,
        { 'Content-Type': 'text/event-stream' },
        `id: 1\nretry: 200\ndata: first ${cookie}\n\n`,
      );
    } else if (last === '1') {
      response.setHeader(
        'Set-Cookie',
        `${ident}=COOKIE; Path=/; Expires=Fri, 27 Jul 2001 00:00:00 GMT`,
      );
      send(
        response,
        200,
        { 'Content-Type': 'text/event-stream' },
        `id: 2\ndata: second ${cookie}\n\n`,
      );
    } else {
      send(response, 200, { 'Content-Type': 'stop' }, `data: ${last}${cookie}\n\n`);
    }
  };

  const routes: Record<string, Handler> = {
    '/message': message,
    '/status-error': statusError,
    '/status-reconnect': statusReconnect,
    '/reconnect-fail': reconnectFail,
    '/last-event-id': lastEventId,
    '/last-event-id2': lastEventId2,
    '/accept': echo('accept'),
    '/cache-control': echo('cache-control'),
    '/redirect': redirect,
    '/cors': cors,
    '/cors-cookie': corsCookie,
    // Not from WPT: echoes the method and body, for connect() POST checks in the browser.
    '/echo-request': async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = `data: ${request.method} ${Buffer.concat(chunks).toString('utf8')}\n\n`;
      send(response, 200, { 'Content-Type': 'text/event-stream' }, body);
    },
    '/harness.html': (_request, response) =>
      send(response, 200, { 'Content-Type': 'text/html; charset=utf-8' }, HARNESS_PAGE),
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    requests.push({
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
    });
    const target = request.url ?? '/';
    const question = target.indexOf('?');
    const path = question === -1 ? target : target.slice(0, question);
    const query = new Query(question === -1 ? '' : target.slice(question + 1));
    try {
      if (path.startsWith('/pkg/')) {
        await serveBuiltFile(path, response);
        return;
      }
      const route = routes[path];
      if (route === undefined) {
        send(response, 404, { 'Content-Type': 'text/plain' }, `no route ${path}`);
        return;
      }
      await route(request, response, query);
    } catch (error) {
      if (!response.headersSent)
        send(response, 500, { 'Content-Type': 'text/plain' }, String(error));
      else response.destroy();
    }
  };

  const servers = [createServer(handle), createServer(handle)];
  const ports: number[] = [];
  for (const server of servers) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    ports.push((server.address() as AddressInfo).port);
  }

  return {
    origin: `http://127.0.0.1:${ports[0]}`,
    crossOrigin: `http://127.0.0.1:${ports[1]}`,
    requests,
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

/** Answers a CORS preflight (allowing whatever it asks for); false when it is not one. */
function answerPreflight(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method !== 'OPTIONS') return false;
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': request.headers.origin ?? '*',
    'Access-Control-Allow-Credentials': 'true',
  };
  const requested = request.headers['access-control-request-headers'];
  if (requested !== undefined) headers['Access-Control-Allow-Headers'] = requested;
  send(response, 204, headers, '');
  return true;
}

/** `/pkg/<client|protocol>/dist/<file>.js`: the built ESM, served to the browser as is. */
async function serveBuiltFile(path: string, response: ServerResponse): Promise<void> {
  const [, , name = '', ...rest] = path.split('/');
  const root = PACKAGE_DIRS[name];
  const relative = normalize(rest.join('/'));
  if (root === undefined || !relative.startsWith(`dist${sep}`) || relative.includes('..')) {
    send(response, 404, { 'Content-Type': 'text/plain' }, 'not a built file');
    return;
  }
  try {
    const body = await readFile(join(root, relative));
    const type = relative.endsWith('.js') ? 'text/javascript' : 'application/json';
    send(response, 200, { 'Content-Type': `${type}; charset=utf-8` }, body);
  } catch {
    send(
      response,
      404,
      { 'Content-Type': 'text/plain' },
      `missing ${relative}: build the packages first`,
    );
  }
}
