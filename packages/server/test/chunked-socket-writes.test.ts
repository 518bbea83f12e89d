import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { encodeEventBytes } from '@tidings/protocol';
import { EventStream, streamStats } from '@tidings/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GET_EVENTS, RawClient, type RawResponse, readResponse } from './support/raw-http1.js';
import { RELEASED_STREAM_STATS } from './support/released-stream-stats.js';
import { closeServer, deferred, eventually, listen } from './support/sse-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: http.Server;
let port: number;
let handler: Handler;
const clients: RawClient[] = [];

beforeEach(async () => {
  server = http.createServer((req, res) => handler(req, res));
  port = Number(new URL(await listen(server)).port);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await closeServer(server);
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

async function rawClient(): Promise<RawClient> {
  const client = await RawClient.connect(port);
  clients.push(client);
  return client;
}

/** Records what is written to a socket, passing every call on unchanged. */
function spyOnWrites(socket: net.Socket): unknown[] {
  const written: unknown[] = [];
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  (socket as unknown as { write: (...args: unknown[]) => boolean }).write = (...args) => {
    written.push(args[0]);
    return write(...args);
  };
  return written;
}

const text = (chunk: Buffer | undefined) => chunk?.toString('utf8');
const turn = () => new Promise((resolve) => setImmediate(resolve));
const withChunks = (count: number) => (bytes: Buffer) => {
  const response = readResponse(bytes);
  return response !== undefined && response.chunks.length >= count ? response : undefined;
};
const terminated = (bytes: Buffer) => {
  const response = readResponse(bytes);
  return response?.terminated ? response : undefined;
};

describe('EventStream on HTTP/1.1 writes its body straight to the socket', () => {
  it('as exact chunks, one per turn, ended by the last-chunk; the connection then serves the next request', async () => {
    const opened = deferred<{ stream: EventStream; res: ServerResponse }>();
    handler = (req, res) => {
      if (req.url === '/plain') res.end('next');
      else opened.resolve({ stream: EventStream.fromNode(req, res, { retry: 1000 }), res });
    };
    const client = await rawClient();
    client.send(GET_EVENTS);
    const { stream, res } = await opened.promise;
    const written = spyOnWrites(res.socket as net.Socket);
    const first = await client.until(withChunks(1), 'the retry chunk');
    expect(first.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(first.head).toMatch(/^transfer-encoding: chunked$/im);
    expect(first.head).toMatch(/^connection: keep-alive$/im);
    expect(text(first.chunks[0])).toBe('retry: 1000\n\n');

    // Three events in one turn: one write, one chunk; sizes count bytes, not characters.
    stream.send({ id: '1', data: 'héllo' });
    stream.send({ event: 'note', data: '🎉' });
    stream.send({ data: 'plain' });
    expect(written).toHaveLength(0);
    const second = await client.until(withChunks(2), 'the first events');
    expect(written).toHaveLength(1);
    expect(text(second.chunks[1])).toBe(
      'id: 1\ndata: héllo\n\nevent: note\ndata: 🎉\n\ndata: plain\n\n',
    );

    // A chunk whose size needs five hex digits.
    const large = 'L'.repeat(70_000);
    stream.send({ data: large });
    const third = await client.until(withChunks(3), 'the large event');
    expect(text(third.chunks[2])).toBe(`data: ${large}\n\n`);
    expect(client.received.includes(`${(third.chunks[2]?.length ?? 0).toString(16)}\r\n`)).toBe(
      true,
    );

    stream.close();
    const ended = await client.until(terminated, 'the last-chunk');
    expect(ended.chunks).toHaveLength(3);
    expect(ended.rest).toHaveLength(0);
    await eventually(() => streamStats().open === 0, 'the stream to close');

    // The same connection, kept alive, answers the next request.
    const endedAt = client.received.length;
    client.send('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
    const next = await client.until((bytes) => {
      const response = readResponse(bytes.subarray(endedAt));
      return text(response?.chunks[0]) === 'next' ? response : undefined;
    }, 'the next response');
    expect(next.head).toMatch(/^content-length: 4$/im);
    expect(client.ended).toBe(false);
    expect(streamStats()).toEqual(RELEASED_STREAM_STATS);
  });

  it('frames a broadcast once per turn: every subscriber with the same queue gets the same bytes object', async () => {
    const streams: { stream: EventStream; written: unknown[] }[] = [];
    const bothOpen = deferred<void>();
    handler = (req, res) => {
      const stream = EventStream.fromNode(req, res);
      streams.push({ stream, written: spyOnWrites(res.socket as net.Socket) });
      if (streams.length === 2) bothOpen.resolve();
    };
    const a = await rawClient();
    const b = await rawClient();
    a.send(GET_EVENTS);
    b.send(GET_EVENTS);
    await bothOpen.promise;
    const [one, two] = streams as [(typeof streams)[0], (typeof streams)[0]];

    const update = encodeEventBytes({ id: 'u1', data: 'for everyone' });
    one.stream.sendEncoded(update);
    two.stream.sendEncoded(update);
    await a.until(withChunks(1), 'update 1 at a');
    await b.until(withChunks(1), 'update 1 at b');
    expect(one.written).toHaveLength(1);
    expect(one.written[0]).toBe(two.written[0]);

    // Several updates queued in one turn: joined and framed once for both.
    const u2 = encodeEventBytes({ id: 'u2', data: 'two' });
    const u3 = encodeEventBytes({ id: 'u3', data: 'three' });
    for (const { stream } of streams) {
      stream.sendEncoded(u2);
      stream.sendEncoded(u3);
    }
    const atA = await a.until(withChunks(2), 'updates 2 and 3 at a');
    const atB = await b.until(withChunks(2), 'updates 2 and 3 at b');
    expect(one.written[1]).toBe(two.written[1]);
    expect(text(atA.chunks[1])).toBe('id: u2\ndata: two\n\nid: u3\ndata: three\n\n');
    expect(text(atB.chunks[1])).toBe(text(atA.chunks[1]));

    // Different queues get their own bytes.
    const u4 = encodeEventBytes({ id: 'u4', data: 'four' });
    one.stream.sendEncoded(u4);
    two.stream.sendEncoded(u4);
    two.stream.send({ data: 'only for b' });
    const lastA = await a.until(withChunks(3), 'update 4 at a');
    const lastB = await b.until(withChunks(3), 'update 4 and more at b');
    expect(one.written[2]).not.toBe(two.written[2]);
    expect(text(lastA.chunks[2])).toBe('id: u4\ndata: four\n\n');
    expect(text(lastB.chunks[2])).toBe('id: u4\ndata: four\n\ndata: only for b\n\n');
  });

  it('writes the size line right at every hex-digit boundary', async () => {
    const opened = deferred<EventStream>();
    handler = (req, res) => opened.resolve(EventStream.fromNode(req, res));
    const client = await rawClient();
    client.send(GET_EVENTS);
    const stream = await opened.promise;
    const sizes = [1, 15, 16, 255, 256, 4095, 4096, 65_535, 65_536, 1_048_576];
    for (const size of sizes) {
      // Raw bytes of exactly `size`; the client's strict reader checks every size line.
      stream.sendEncoded(new Uint8Array(size).fill(0x61));
      await turn();
    }
    const response = await client.until(withChunks(sizes.length), 'every size', 10_000);
    expect(response.chunks.map((chunk) => chunk.length)).toEqual(sizes);
    for (const size of sizes) {
      expect(client.received.includes(`\r\n${size.toString(16)}\r\na`)).toBe(true);
    }
  });

  it('sends nothing for an empty chunk instead of ending the body', async () => {
    const opened = deferred<EventStream>();
    handler = (req, res) => opened.resolve(EventStream.fromNode(req, res));
    const client = await rawClient();
    client.send(GET_EVENTS);
    const stream = await opened.promise;
    expect(stream.sendEncoded(new Uint8Array(0))).toBe(true);
    expect(stream.sendEncoded('')).toBe(true);
    await turn();
    stream.send({ data: 'still open' });
    const response = await client.until(withChunks(1), 'the event');
    expect(response.terminated).toBe(false);
    expect(text(response.chunks[0])).toBe('data: still open\n\n');
    expect(stream.closed).toBe(false);
  });

  it('keeps pipelined responses in order: a stream queued behind another writes once it is its turn', async () => {
    const opened: EventStream[] = [];
    handler = (req, res) => {
      const stream = EventStream.fromNode(req, res);
      opened.push(stream);
      stream.send({ data: `stream ${opened.length}` });
      // The first closes on the next turn; the second, still queued behind it, at once.
      if (opened.length === 1) setImmediate(() => stream.close());
      else stream.close();
    };
    const client = await rawClient();
    client.send(GET_EVENTS + GET_EVENTS);
    const first = await client.until(terminated, 'the first response');
    const second = await client.until(
      (bytes) => (terminated(bytes)?.rest.length ? terminated(terminated(bytes)!.rest) : undefined),
      'the second response',
    );
    expect(first.chunks.map(text)).toEqual(['data: stream 1\n\n']);
    expect(second.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(second.chunks.map(text)).toEqual(['data: stream 2\n\n']);
    expect(second.rest).toHaveLength(0);
  });

  it('leaves HTTP/1.0 to node:http: no chunks, and the connection closes at the end', async () => {
    const opened = deferred<EventStream>();
    handler = (req, res) => opened.resolve(EventStream.fromNode(req, res));
    const client = await rawClient();
    client.send('GET /events HTTP/1.0\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    const stream = await opened.promise;
    stream.send({ id: '1', data: 'one' });
    await turn();
    stream.send({ data: 'two' });
    stream.close();
    const response: RawResponse = await client.until(
      (bytes) => (client.ended ? readResponse(bytes) : undefined),
      'the connection to close',
    );
    expect(response.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response.head).not.toMatch(/transfer-encoding/i);
    expect(text(response.chunks[0])).toBe('id: 1\ndata: one\n\ndata: two\n\n');
  });
});
