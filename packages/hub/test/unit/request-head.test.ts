import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequestHead } from '../../src/http/request-head.js';

/** An unconnected socket: parseRequestHead only keeps it on the head. */
const socket = new net.Socket();

function parse(head: string) {
  return parseRequestHead(Buffer.from(head, 'latin1'), socket);
}

describe('parseRequestHead', () => {
  it.each([
    ['a plain GET', 'GET /.well-known/mercure?topic=a HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['Content-Length: 0', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'],
    ['an empty value', 'GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n'],
    ['no space after the colon', 'GET / HTTP/1.1\r\nHost:x\r\n\r\n'],
    ['a POST without a body', 'POST /p HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('accepts %s', (_name, head) => {
    const parsed = parse(head);
    expect(parsed).toBeDefined();
    expect(parsed?.socket).toBe(socket);
  });

  it.each([
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: x\r\n\r\n'],
    ['HTTP/2.0 in a request line', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n'],
    ['a lower-case version', 'GET / http/1.1\r\nHost: x\r\n\r\n'],
    ['no version', 'GET /\r\nHost: x\r\n\r\n'],
    ['an absolute-form target', 'GET http://x/.well-known/mercure HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['an asterisk-form target', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['an authority-form target', 'CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['two spaces after the method', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a non-ASCII target', 'GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a method that is not a token', 'G(T / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a bare LF after the request line', 'GET / HTTP/1.1\nHost: x\r\n\r\n'],
    ['a bare LF between headers', 'GET / HTTP/1.1\r\nHost: x\nAccept: y\r\n\r\n'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nHost: x\rAccept: y\r\n\r\n'],
    ['an obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n'],
    ['an obs-fold by a tab', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['a line without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nnothing\r\n\r\n'],
    ['an empty name', 'GET / HTTP/1.1\r\nHost: x\r\n: y\r\n\r\n'],
    ['a duplicate header', 'GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nAccept: b\r\n\r\n'],
    ['a duplicate header in other case', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\nx-a: b\r\n\r\n'],
    ['a duplicate Host', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'],
    ['Content-Length: 5', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n'],
    ['Content-Length: 00', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 00\r\n\r\n'],
    ['Transfer-Encoding', 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['Upgrade', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['Expect', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n'],
    ['no Host', 'GET / HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n'],
    ['a CTL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'],
    ['obs-text in a name', 'GET / HTTP/1.1\r\nHost: x\r\nX-\xe9: a\r\n\r\n'],
  ])('refuses %s', (_name, head) => {
    expect(parse(head)).toBeUndefined();
  });

  it('keeps obs-text values as latin1, trims OWS, lower-cases names and keeps the target', () => {
    const parsed = parse(
      'GET /.well-known/mercure?topic=%2Fa&x=%E9 HTTP/1.1\r\n' +
        'HOST: example.com:8080\r\n' +
        'X-Latin: caf\xe9 \xff\r\n' +
        'X-Ows: \t  a \t b  \t\r\n' +
        'Last-Event-ID: urn:uuid:1\r\n' +
        '\r\n',
    );
    expect(parsed?.method).toBe('GET');
    expect(parsed?.url).toBe('/.well-known/mercure?topic=%2Fa&x=%E9');
    expect({ ...parsed?.headers }).toEqual({
      host: 'example.com:8080',
      'x-latin': 'caf\u00e9 \u00ff',
      'x-ows': 'a \t b',
      'last-event-id': 'urn:uuid:1',
    });
  });
});

// ---------------------------------------------------------------------------------------
// Differential: what parseRequestHead accepts, node:http reads the same way.

/** What node:http made of one request, or the error it answered with. */
type NodeReading =
  | { method: string; url: string; headers: Record<string, string> }
  | { error: string };

let server: http.Server;
let port: number;
let pending: ((reading: NodeReading) => void) | undefined;

beforeAll(async () => {
  server = http.createServer((req: IncomingMessage, res) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join('\n') : value;
    }
    res.writeHead(204, { connection: 'close' }).end();
    pending?.({ method: req.method as string, url: req.url as string, headers });
  });
  server.on('clientError', (error: Error & { code?: string }, client: net.Socket) => {
    pending?.({ error: error.code ?? error.message });
    client.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends `bytes` on a fresh connection; resolves with what node:http read. */
function nodeReads(bytes: Buffer): Promise<NodeReading> {
  return new Promise((resolve, reject) => {
    const client = net.connect(port, '127.0.0.1');
    pending = (reading) => {
      pending = undefined;
      resolve(reading);
    };
    client.on('error', () => {});
    client.on('close', () => {
      // node:http answered (or refused) before the close, which resolved already.
      if (pending !== undefined) reject(new Error('node:http closed without reading'));
    });
    client.on('data', () => {});
    client.write(bytes);
  });
}

const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc
  .array(fc.constantFrom(...tchar), { minLength: 1, maxLength: 12 })
  .map((chars) => chars.join(''));
/** Field content: visible ASCII, obs-text, inner spaces and tabs, with optional OWS around it. */
const valueByte = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 1, arbitrary: fc.constantFrom(0x20, 0x09) },
);
const ows = fc.array(fc.constantFrom(' ', '\t'), { maxLength: 2 }).map((c) => c.join(''));
const value = fc
  .tuple(ows, fc.array(valueByte, { maxLength: 20 }), ows)
  .map(([before, bytes, after]) => before + Buffer.from(bytes).toString('latin1') + after);
/** Query characters: any visible ASCII (node:http takes them all in a target), and escapes. */
const queryChar = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
  fc.constantFrom('%2F', '%E9', '%20'),
);
const target = fc
  .tuple(
    fc.constantFrom('/', '/.well-known/mercure', '/a/b.c', '/%7Euser'),
    fc.option(
      fc.array(queryChar, { maxLength: 24 }).map((chars) => chars.join('')),
      { nil: undefined },
    ),
  )
  .map(([path, query]) => (query === undefined ? path : `${path}?${query}`));
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'upgrade', 'expect']);
const fields = fc.uniqueArray(
  fc.tuple(
    token.filter((name) => !RESERVED.has(name.toLowerCase())),
    value,
  ),
  { maxLength: 8, selector: ([name]) => name.toLowerCase() },
);
const head = fc
  .record({
    method: fc.constantFrom('GET', 'GET', 'HEAD', 'DELETE', 'OPTIONS'),
    target,
    host: fc.constantFrom('x', '127.0.0.1:8080', 'example.com'),
    hostAt: fc.nat(),
    fields,
    contentLength: fc.boolean(),
  })
  .map(({ method, target, host, hostAt, fields, contentLength }) => {
    const lines = fields.map(([name, field]) => `${name}:${field}`);
    lines.splice(hostAt % (lines.length + 1), 0, `Host: ${host}`);
    if (contentLength) lines.push('Content-Length: 0');
    return Buffer.from(`${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  });

describe('parseRequestHead against node:http', () => {
  it('reads every head it accepts as node:http does', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(head, async (bytes) => {
        const parsed = parseRequestHead(bytes, socket);
        if (parsed === undefined) return;
        accepted++;
        const reading = await nodeReads(bytes);
        expect(reading).toEqual({
          method: parsed.method,
          url: parsed.url,
          headers: { ...parsed.headers },
        });
      }),
      { numRuns: 200 },
    );
    // The generator makes plain heads: almost all of them must be accepted, or the
    // property checks nothing.
    expect(accepted).toBeGreaterThan(150);
  });
});
