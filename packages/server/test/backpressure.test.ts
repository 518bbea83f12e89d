import http, { type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { CLOSE_GRACE_MS, EventStream, streamStats } from '@tidings/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RELEASED_STREAM_STATS } from './support/released-stream-stats.js';
import {
  closeServer,
  connectHttp1,
  deferred,
  eventually,
  listen,
  requestHttp2,
} from './support/sse-client.js';

let server: http.Server | http2.Http2Server | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const socket of sockets.splice(0)) socket.destroy();
  if (server !== undefined) await closeServer(server);
  server = undefined;
  await eventually(
    () => streamStats().open === 0 && streamStats().lingering === 0,
    'every stream to close',
  );
});

/** A client that sends its request and then never reads: the kernel buffers fill, then ours. */
async function stalledClient(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
  return socket;
}

async function openHttp1(options: Parameters<typeof EventStream.fromNode>[2]) {
  const opened = deferred<{ stream: EventStream; res: ServerResponse }>();
  server = http.createServer((req, res) =>
    opened.resolve({ stream: EventStream.fromNode(req, res, options), res }),
  );
  const base = await listen(server);
  return { opened: opened.promise, port: Number(new URL(base).port), base };
}

/** Sends `event` every turn, many per turn, until the stream closes; returns the largest backlog seen. */
async function floodUntilClosed(
  stream: EventStream,
  eventBytes: number,
  maxTurns = 20_000,
): Promise<number> {
  const event = { data: 'x'.repeat(eventBytes) };
  let maxBuffered = 0;
  for (let turn = 0; turn < maxTurns && !stream.closed; turn++) {
    for (let i = 0; i < 16 && !stream.closed; i++) {
      stream.send(event);
      maxBuffered = Math.max(maxBuffered, stream.bufferedBytes);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return maxBuffered;
}

describe('a client that stops reading', () => {
  it('over HTTP/1.1 is dropped once maxQueueBytes wait for it, and memory stays under the bound', async () => {
    const maxQueueBytes = 256 * 1024;
    const { opened, port } = await openHttp1({ maxQueueBytes });
    await stalledClient(port);
    const { stream, res } = await opened;
    // The body is written straight to the socket, so 'drain' is heard there.
    const socket = res.socket as net.Socket;
    const listeners = () =>
      res.listenerCount('close') + socket.listenerCount('drain') + res.listenerCount('error');
    const listenersBefore = listeners();
    const heapBefore = process.memoryUsage().heapUsed;
    const maxBuffered = await floodUntilClosed(stream, 1024);
    expect(stream.closed).toBe(true);
    expect(stream.closeReason).toBe('slow-consumer');
    expect(maxBuffered).toBeLessThanOrEqual(maxQueueBytes);
    // The kernel's socket buffers took megabytes first; the process never held more than the bound.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
    await eventually(
      () => res.socket === null || res.socket.destroyed,
      'the socket to be destroyed',
    );
    await eventually(
      () => listeners() === listenersBefore - 3,
      'the stream’s listeners to be removed',
    );
    expect(streamStats()).toEqual(RELEASED_STREAM_STATS);
  });

  it('over HTTP/2 is reset once maxQueueBytes wait for it; its connection lives on', async () => {
    const maxQueueBytes = 128 * 1024;
    const streams: EventStream[] = [];
    const h2 = http2.createServer();
    server = h2;
    h2.on('stream', (raw, headers) =>
      streams.push(EventStream.fromHttp2Stream(raw, headers, { maxQueueBytes })),
    );
    const session = http2.connect(await listen(h2));
    session.on('error', () => {});
    const stalled = await requestHttp2(session, '/stalled');
    stalled.stream.pause();
    stalled.stream.removeAllListeners('data');
    const healthy = await requestHttp2(session, '/healthy');
    const [slow, fast] = streams as [EventStream, EventStream];
    const maxBuffered = await floodUntilClosed(slow, 1024);
    expect(slow.closeReason).toBe('slow-consumer');
    expect(maxBuffered).toBeLessThanOrEqual(maxQueueBytes);
    await eventually(
      () => stalled.stream.rstCode === http2.constants.NGHTTP2_CANCEL,
      'RST_STREAM CANCEL',
    );
    fast.send({ data: 'still here' });
    await healthy.collector.waitForEvents(1);
    session.close();
  });

  it('send() turns false while the client is behind; drained() resolves when it catches up, nothing lost', async () => {
    const { opened, base } = await openHttp1({ maxQueueBytes: 64 * 1024 * 1024 });
    const client = await connectHttp1(base);
    client.response.pause();
    const { stream } = await opened;
    const payload = 'y'.repeat(4096);
    let sent = 0;
    // Send until the client is really stuck: the kernel keeps taking bytes for a while (its
    // buffers grow), so a false send() is followed by drains until every buffer is full.
    let draining: Promise<boolean> | undefined;
    for (let round = 0; round < 1000; round++) {
      while (stream.send({ id: String(sent++), data: payload })) {
        if (sent % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      draining = stream.drained().then(() => true);
      const stuck = await Promise.race([
        draining,
        new Promise<false>((r) => setTimeout(r, 50, false)),
      ]);
      if (!stuck) break;
      draining = undefined;
    }
    expect(draining).toBeDefined();
    expect(stream.bufferedBytes).toBeGreaterThan(0);
    client.response.resume();
    expect(await draining).toBe(true);
    await client.collector.waitForEvents(sent, 10_000);
    expect(client.collector.events.map((e) => e.lastEventId)).toEqual(
      Array.from({ length: sent }, (_, i) => String(i)),
    );
    client.close();
  });

  it('with a custom policy: called instead of closing, and the event that did not fit is dropped', async () => {
    const calls: EventStream[] = [];
    const { opened, port } = await openHttp1({
      maxQueueBytes: 64 * 1024,
      onSlowConsumer: (s) => calls.push(s),
    });
    await stalledClient(port);
    const { stream } = await opened;
    const event = { data: 'z'.repeat(1024) };
    let maxBuffered = 0;
    let dropped: { accepted: boolean; before: number; after: number } | undefined;
    for (let turn = 0; turn < 20_000 && dropped === undefined; turn++) {
      for (let i = 0; i < 16 && dropped === undefined; i++) {
        const before = stream.bufferedBytes;
        const accepted = stream.send(event);
        if (calls.length > 0) dropped = { accepted, before, after: stream.bufferedBytes };
        maxBuffered = Math.max(maxBuffered, stream.bufferedBytes);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(calls).toEqual([stream]);
    expect(stream.closed).toBe(false);
    // The event that did not fit was not queued.
    expect(dropped).toEqual({ accepted: false, before: dropped?.before, after: dropped?.before });
    expect(maxBuffered).toBeLessThanOrEqual(64 * 1024);
    stream.close();
  });

  it('that the server closes keeps its last bytes for a grace period, then is cut off', async () => {
    const { opened, port } = await openHttp1({ maxQueueBytes: 64 * 1024 * 1024 });
    await stalledClient(port);
    const { stream, res } = await opened;
    const event = { data: 'w'.repeat(4096) };
    while (stream.send(event)) await new Promise((resolve) => setImmediate(resolve));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    stream.close();
    expect(stream.closed).toBe(true);
    expect(streamStats()).toMatchObject({ open: 0, lingering: 1 });
    await vi.advanceTimersByTimeAsync(CLOSE_GRACE_MS - 1);
    expect(res.destroyed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    vi.useRealTimers();
    await eventually(() => streamStats().lingering === 0, 'the grace period to end');
    expect(res.destroyed).toBe(true);
  });

  it('that reads slowly after the server closed still gets every event', async () => {
    const { opened, base } = await openHttp1({ maxQueueBytes: 64 * 1024 * 1024 });
    const client = await connectHttp1(base);
    client.response.pause();
    const { stream } = await opened;
    let sent = 0;
    while (stream.send({ data: String(sent).padEnd(2048, '.') })) {
      sent++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    sent++;
    stream.close();
    expect(streamStats().lingering).toBe(1);
    client.response.resume();
    await client.collector.waitForEnd(10_000);
    expect(client.collector.events).toHaveLength(sent);
    await eventually(() => streamStats().lingering === 0, 'the grace timer to be cancelled');
  });
});
