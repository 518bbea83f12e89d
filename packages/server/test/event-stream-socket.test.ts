import net from 'node:net';
import { createParser, type ServerSentEvent } from '@tidings/protocol';
import { EventStream, type EventStreamOptions, streamStats } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, readResponse } from './support/raw-http1.js';
import { deferred, eventually } from './support/sse-client.js';

/** What the `node:net` server did with the connection whose head it read. */
interface Opened {
  stream?: EventStream;
  error?: unknown;
  socket: net.Socket;
  /** The head as the server parsed it. */
  request: { method: string; url: string; headers: Record<string, string> };
}

let server: net.Server | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  if (server !== undefined) {
    const closing = server;
    server = undefined;
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  }
  await eventually(
    () => streamStats().open === 0 && streamStats().lingering === 0,
    'every stream to close',
  );
});

/**
 * A `node:net` server that reads one request head by hand and opens the stream on the
 * socket with `EventStream.fromSocket`, as a server answering without node:http would.
 * `before` runs on the socket just before (to destroy it, say).
 */
async function serve(
  options?: EventStreamOptions,
  headers?: Record<string, string>,
  before?: (socket: net.Socket) => void,
): Promise<{ port: number; opened: Promise<Opened> }> {
  const opened = deferred<Opened>();
  server = net.createServer((socket) => {
    let bytes = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const end = bytes.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.pause();
      const rest = bytes.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      const [line, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
      const [method, url] = (line as string).split(' ') as [string, string];
      const requestHeaders: Record<string, string> = {};
      for (const headerLine of lines) {
        const colon = headerLine.indexOf(':');
        requestHeaders[headerLine.slice(0, colon).toLowerCase()] = headerLine
          .slice(colon + 1)
          .trim();
      }
      const request = { method, url, headers: requestHeaders };
      before?.(socket);
      try {
        const stream = EventStream.fromSocket(socket, request, options, headers);
        opened.resolve({ stream, socket, request });
      } catch (error) {
        opened.resolve({ error, socket, request });
      }
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, opened: opened.promise };
}

async function connect(port: number, request = GET): Promise<RawClient> {
  const client = await RawClient.connect(port);
  clients.push(client);
  client.send(request);
  return client;
}

const GET = 'GET /events?x=1 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';

/** The response's head as lines, and its header fields (names lower-cased, in order). */
function headOf(head: string): { statusLine: string; fields: [string, string][] } {
  const [statusLine, ...lines] = head.split('\r\n');
  return {
    statusLine: statusLine as string,
    fields: lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 2)];
    }),
  };
}

/** Everything the client got, de-chunked and parsed as an event stream. */
function parsed(bytes: Buffer): {
  events: ServerSentEvent[];
  comments: string[];
  retries: number[];
  terminated: boolean;
  chunks: Buffer[];
} {
  const result = {
    events: [] as ServerSentEvent[],
    comments: [] as string[],
    retries: [] as number[],
    terminated: false,
    chunks: [] as Buffer[],
  };
  const response = readResponse(bytes);
  if (response === undefined) return result;
  const parser = createParser({
    onEvent: (event) => result.events.push(event),
    onComment: (text) => result.comments.push(text),
    onRetry: (ms) => result.retries.push(ms),
  });
  for (const chunk of response.chunks) parser.feed(new Uint8Array(chunk));
  result.terminated = response.terminated;
  result.chunks = response.chunks;
  return result;
}

describe('EventStream.fromSocket', () => {
  it('writes the exact response head: status line, stream headers, config and extra headers, date, chunked', async () => {
    const { port, opened } = await serve(
      { status: 201, headers: { 'Cache-Control': 'private, no-cache', 'X-Config': 'a' } },
      { 'X-Extra': 'b', 'Access-Control-Allow-Origin': '*', 'Content-Length': '12' },
    );
    const client = await connect(port);
    const { stream } = await opened;
    expect(stream?.closed).toBe(false);
    const response = await client.until(readResponse, 'the response head');
    const { statusLine, fields } = headOf(response.head);
    expect(response.head.replace(/\r\ndate: [^\r]+/, '\r\ndate: *')).toBe(
      [
        'HTTP/1.1 201 Created',
        'content-type: text/event-stream; charset=utf-8',
        'cache-control: private, no-cache',
        'x-accel-buffering: no',
        'connection: close',
        'x-config: a',
        'x-extra: b',
        'access-control-allow-origin: *',
        'date: *',
        'transfer-encoding: chunked',
      ].join('\r\n'),
    );
    expect(statusLine).toBe('HTTP/1.1 201 Created');
    const names = fields.map(([name]) => name);
    // Each field once, and the framing is the stream's own (a caller's Content-Length is dropped).
    expect(new Set(names).size).toBe(names.length);
    const map = Object.fromEntries(fields);
    expect(map['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(map['cache-control']).toBe('private, no-cache');
    expect(map['x-accel-buffering']).toBe('no');
    expect(map['x-config']).toBe('a');
    expect(map['x-extra']).toBe('b');
    expect(map['access-control-allow-origin']).toBe('*');
    expect(map['content-length']).toBeUndefined();
    expect(map['content-encoding']).toBeUndefined();
    expect(map['transfer-encoding']).toBe('chunked');
    expect(names[names.length - 1]).toBe('transfer-encoding');
    const date = Date.parse(map.date as string);
    expect(Number.isNaN(date)).toBe(false);
    expect(new Date(date).toUTCString()).toBe(map.date);
  });

  it('uses the default status and cache headers', async () => {
    const { port, opened } = await serve();
    const client = await connect(port);
    await opened;
    const response = await client.until(readResponse, 'the response head');
    const { statusLine, fields } = headOf(response.head);
    expect(statusLine).toBe('HTTP/1.1 200 OK');
    const map = Object.fromEntries(fields);
    expect(map['cache-control']).toBe('no-cache, no-transform');
    expect(map['content-type']).toBe('text/event-stream; charset=utf-8');
  });

  it('sends the retry field as the first chunk, then each send as chunks', async () => {
    const { port, opened } = await serve({ retry: 2500 });
    const client = await connect(port);
    const { stream } = await opened;
    await client.until((bytes) => (parsed(bytes).retries.length === 1 ? true : undefined), 'retry');
    stream?.send({ data: 'one', id: '1' });
    stream?.send({ event: 'two', data: { n: 2 } });
    const result = await client.until((bytes) => {
      const read = parsed(bytes);
      return read.events.length >= 2 ? read : undefined;
    }, 'two events');
    expect(result.retries).toEqual([2500]);
    expect(result.chunks[0]?.toString()).toBe('retry: 2500\n\n');
    expect(result.events).toEqual([
      { type: 'message', data: 'one', lastEventId: '1' },
      { type: 'two', data: '{"n":2}', lastEventId: '1' },
    ]);
    // readResponse is strict about chunk framing: every byte after the head is a chunk.
    expect(result.terminated).toBe(false);
  });

  it('close() writes the last chunk and ends the connection', async () => {
    const { port, opened } = await serve();
    const client = await connect(port);
    const { stream } = await opened;
    stream?.send({ data: 'bye' });
    stream?.close();
    expect(stream?.closed).toBe(true);
    await eventually(() => client.ended, 'the connection to end');
    const response = readResponse(client.received);
    expect(response?.terminated).toBe(true);
    expect(response?.rest.length).toBe(0);
    expect(client.received.subarray(-5).toString('latin1')).toBe('0\r\n\r\n');
    expect(parsed(client.received).events.map((event) => event.data)).toEqual(['bye']);
  });

  it('a client that leaves closes the stream: onClose fires and the open count comes back', async () => {
    const before = streamStats().open;
    const { port, opened } = await serve();
    const client = await connect(port);
    const { stream } = await opened;
    expect(streamStats().open).toBe(before + 1);
    const closed = deferred<void>();
    stream?.onClose(() => closed.resolve());
    client.close();
    await closed.promise;
    expect(stream?.closed).toBe(true);
    expect(stream?.closeReason).toBe('client');
    expect(streamStats().open).toBe(before);
  });

  it('drops what the client sends after the head, and the stream stays open', async () => {
    const { port, opened } = await serve();
    const client = await connect(port);
    const { stream, socket } = await opened;
    await client.until(readResponse, 'the response head');
    const read = deferred<void>();
    const target = socket.bytesRead + 2 * 64 * 1024;
    socket.on('data', () => {
      if (socket.bytesRead >= target) read.resolve();
    });
    client.send('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    client.send(Buffer.alloc(2 * 64 * 1024, 'y').toString());
    await read.promise;
    expect(stream?.closed).toBe(false);
    stream?.send({ data: 'still here' });
    const result = await client.until((bytes) => {
      const events = parsed(bytes).events;
      return events.length === 1 ? events : undefined;
    }, 'the event');
    expect(result[0]?.data).toBe('still here');
    // Nothing but chunks of this stream came back: no second response.
    expect(readResponse(client.received)?.rest.length).toBe(0);
    expect(client.received.toString('latin1').match(/HTTP\/1\.1/g)).toHaveLength(1);
  });

  it('answers HEAD with the head only, then ends the connection', async () => {
    const { port, opened } = await serve({ retry: 1000 });
    const client = await connect(
      port,
      'HEAD /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n',
    );
    const { stream } = await opened;
    expect(stream?.closed).toBe(true);
    await eventually(() => client.ended, 'the connection to end');
    const text = client.received.toString('latin1');
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(text.endsWith('\r\n\r\n')).toBe(true);
    expect(text.indexOf('\r\n\r\n')).toBe(text.length - 4);
    expect(text).toMatch(/\r\ncontent-type: text\/event-stream; charset=utf-8\r\n/);
  });

  it('keeps a HEAD connection whose client resets from raising an unhandled error', async () => {
    // The caller keeps no 'error' listener of its own once the stream has the connection.
    const { port, opened } = await serve(undefined, undefined, (socket) =>
      socket.removeAllListeners('error'),
    );
    const client = await connect(port, 'HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n');
    const { socket } = await opened;
    // Reset before reading: the server side's read or write meets the RST.
    client.socket.resetAndDestroy();
    await eventually(() => socket.destroyed, 'the server side to close');
    expect(socket.listenerCount('error')).toBeGreaterThan(0);
  });

  it('closes a client that stops reading once maxQueueBytes wait for it', async () => {
    const maxQueueBytes = 256 * 1024;
    const { port, opened } = await serve({ maxQueueBytes });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write(GET);
    const { stream } = await opened;
    if (stream === undefined) throw new Error('no stream');
    const event = { data: 'x'.repeat(1024) };
    let maxBuffered = 0;
    for (let turn = 0; turn < 20_000 && !stream.closed; turn++) {
      for (let i = 0; i < 16 && !stream.closed; i++) {
        stream.send(event);
        maxBuffered = Math.max(maxBuffered, stream.bufferedBytes);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.destroy();
    expect(stream.closed).toBe(true);
    expect(stream.closeReason).toBe('slow-consumer');
    expect(maxBuffered).toBeLessThanOrEqual(maxQueueBytes);
  });

  it('sends heartbeats as comments', async () => {
    const { port, opened } = await serve({ heartbeatMs: 20 });
    const client = await connect(port);
    await opened;
    const comments = await client.until((bytes) => {
      const read = parsed(bytes);
      return read.comments.length >= 2 ? read.comments : undefined;
    }, 'two heartbeats');
    expect(comments.length).toBeGreaterThanOrEqual(2);
    expect(parsed(client.received).events).toHaveLength(0);
  });

  it.each([
    ['a CR/LF in a value', { 'X-Bad': 'a\r\nSet-Cookie: b' }],
    ['a LF in a value', { 'X-Bad': 'a\nb' }],
    ['a NUL in a value', { 'X-Bad': 'a\u0000b' }],
    ['a character above U+00FF', { 'X-Bad': 'snow \u2603' }],
    ['a space in a name', { 'X Bad': 'a' }],
    ['a colon in a name', { 'X:Bad': 'a' }],
    ['an empty name', { '': 'a' }],
  ])('throws a TypeError for %s and writes nothing', async (_name, headers) => {
    const { port, opened } = await serve(undefined, headers);
    const client = await connect(port);
    const { error, stream, socket } = await opened;
    expect(stream).toBeUndefined();
    expect(error).toBeInstanceOf(TypeError);
    expect(socket.bytesWritten).toBe(0);
    expect(socket.writableLength).toBe(0);
    // The connection is still the caller's to answer.
    socket.end('HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n');
    await eventually(() => client.ended, 'the connection to end');
    expect(client.received.toString('latin1')).toBe(
      'HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n',
    );
  });

  it('throws a TypeError for a bad header in the options too', async () => {
    const { port, opened } = await serve({ headers: { 'X-Bad': 'a\r\nb' } });
    await connect(port);
    const { error, socket } = await opened;
    expect(error).toBeInstanceOf(TypeError);
    expect(socket.bytesWritten).toBe(0);
  });

  it('refuses compression with a TypeError', async () => {
    const { port, opened } = await serve({ compression: true });
    await connect(port, `${GET.slice(0, -2)}Accept-Encoding: gzip\r\n\r\n`);
    const { error, socket } = await opened;
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/compression/);
    expect(socket.bytesWritten).toBe(0);
  });

  it('closes the stream at once on a socket already destroyed', async () => {
    const before = streamStats().open;
    const { port, opened } = await serve(undefined, undefined, (socket) => socket.destroy());
    await connect(port);
    const { stream, error } = await opened;
    expect(error).toBeUndefined();
    expect(stream?.closed).toBe(true);
    expect(streamStats().open).toBe(before);
    expect(stream?.send({ data: 'x' })).toBe(false);
  });

  it('reads the Last-Event-ID header, and the query parameter when configured', async () => {
    const first = await serve();
    await connect(first.port, `GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 42\r\n\r\n`);
    expect((await first.opened).stream?.lastEventId).toBe('42');
    for (const client of clients.splice(0)) client.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));

    const second = await serve({ lastEventIdParam: 'lastEventId' });
    await connect(second.port, `GET /events?lastEventId=7 HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect((await second.opened).stream?.lastEventId).toBe('7');
  });
});
