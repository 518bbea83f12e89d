import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { EventStream, streamStats } from '@tidings/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RELEASED_STREAM_STATS } from './support/released-stream-stats.js';
import { closeServer, connectHttp1, deferred, eventually, listen } from './support/sse-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: http.Server;
let base: string;
let handler: Handler;

beforeEach(async () => {
  server = http.createServer((req, res) => handler(req, res));
  base = await listen(server);
});

afterEach(async () => {
  await closeServer(server);
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

/** Opens a stream in the next request and hands it out. */
function nextStream(options?: Parameters<typeof EventStream.fromNode>[2]) {
  const opened = deferred<{ stream: EventStream; res: ServerResponse }>();
  handler = (req, res) => opened.resolve({ stream: EventStream.fromNode(req, res, options), res });
  return opened.promise;
}

describe('EventStream on node:http (HTTP/1.1)', () => {
  it('sends the event-stream head at once, before any event', async () => {
    const opened = nextStream();
    const client = await connectHttp1(base);
    await opened;
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache, no-transform');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.headers.connection).toBe('keep-alive');
    expect(client.headers['content-encoding']).toBeUndefined();
    expect(client.collector.chunks).toHaveLength(0);
    client.close();
  });

  it('writes the initial retry with the head, and keeps headers set earlier', async () => {
    handler = (req, res) => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      EventStream.fromNode(req, res, {
        retry: 2500,
        status: 201,
        headers: { 'Cache-Control': 'private, no-cache', 'X-Custom': 'yes' },
      });
    };
    const client = await connectHttp1(base);
    await client.collector.until(() => client.collector.retries.length === 1, 'the retry field');
    expect(client.collector.retries).toEqual([2500]);
    expect(client.status).toBe(201);
    expect(client.headers['cache-control']).toBe('private, no-cache');
    expect(client.headers['x-custom']).toBe('yes');
    expect(client.headers['access-control-allow-origin']).toBe('*');
    client.close();
  });

  it('sends strings as they are, other data as JSON, and typed events', async () => {
    const opened = nextStream();
    const client = await connectHttp1(base);
    const { stream } = await opened;
    const typed = stream as unknown as EventStream<{ token: string; done: { total: number } }>;
    typed.send({ data: 'line one\nline two' });
    typed.send({ event: 'done', data: { total: 3 }, id: '7' });
    typed.send({ data: ':not a comment' });
    typed.send({ event: 'token' });
    stream.comment('a note');
    const events = await client.collector.waitForEvents(4);
    expect(events).toEqual([
      { type: 'message', data: 'line one\nline two', lastEventId: '' },
      { type: 'done', data: '{"total":3}', lastEventId: '7' },
      { type: 'message', data: ':not a comment', lastEventId: '7' },
      { type: 'token', data: '', lastEventId: '7' },
    ]);
    await client.collector.until(() => client.collector.comments.includes('a note'), 'the comment');
    client.close();
  });

  it('uses the serialize option for non-string data', async () => {
    const opened = nextStream({ serialize: (data) => `<${String((data as { n: number }).n)}>` });
    const client = await connectHttp1(base);
    const { stream } = await opened;
    stream.send({ data: { n: 5 } });
    expect((await client.collector.waitForEvents(1))[0]?.data).toBe('<5>');
    client.close();
  });

  it('rejects CR, LF and NUL in event and id with a clear error, and sends nothing', async () => {
    const opened = nextStream();
    const client = await connectHttp1(base);
    const { stream } = await opened;
    expect(() => stream.send({ event: 'x\ndata: forged', data: 'a' })).toThrow(
      /"event" must not contain CR, LF or NUL/,
    );
    expect(() => stream.send({ id: '1\r\nevent: forged', data: 'a' })).toThrow(
      /"id" must not contain CR, LF or NUL/,
    );
    expect(() => stream.send({ id: 'a\0b', data: 'a' })).toThrow(/"id" must not contain/);
    expect(() => stream.send({ data: () => 1 })).toThrow(/could not be serialized/);
    expect(() => stream.send({ retry: -1 })).toThrow(/"retry" must be a non-negative integer/);
    expect(stream.bufferedBytes).toBe(0);
    stream.send({ data: 'after' });
    const events = await client.collector.waitForEvents(1);
    expect(events).toEqual([{ type: 'message', data: 'after', lastEventId: '' }]);
    expect(stream.closed).toBe(false);
    client.close();
  });

  it('sends header values byte for byte (a UTF-8 id echoed in a header arrives intact)', async () => {
    const opened = nextStream({
      headers: { 'x-resumed-from': Buffer.from('événement-7', 'utf8').toString('latin1') },
    });
    const client = await connectHttp1(base);
    await opened;
    const raw = client.headers['x-resumed-from'];
    expect(Buffer.from(String(raw), 'latin1').toString('utf8')).toBe('événement-7');
    client.close();
  });

  it('reads Last-Event-ID from the header, else from the query parameter', async () => {
    let opened = nextStream();
    let client = await connectHttp1(`${base}/?lastEventId=from-query`, {
      'last-event-id': 'from-header',
    });
    expect((await opened).stream.lastEventId).toBe('from-header');
    client.close();

    // EventSource sends the id UTF-8 encoded; node:http hands the header over byte by byte.
    opened = nextStream();
    client = await connectHttp1(base, {
      'last-event-id': Buffer.from('événement-7', 'utf8').toString('latin1'),
    });
    expect((await opened).stream.lastEventId).toBe('événement-7');
    client.close();

    opened = nextStream();
    client = await connectHttp1(`${base}/events?topic=a&lastEventId=q%201`);
    expect((await opened).stream.lastEventId).toBe('q 1');
    client.close();

    opened = nextStream({ lastEventIdParam: 'since' });
    client = await connectHttp1(`${base}/?since=42&lastEventId=no`);
    expect((await opened).stream.lastEventId).toBe('42');
    client.close();

    opened = nextStream({ lastEventIdParam: false });
    client = await connectHttp1(`${base}/?lastEventId=ignored`);
    expect((await opened).stream.lastEventId).toBe('');
    client.close();
  });

  it('notices the client leaving: closes once, aborts the signal, keeps nothing', async () => {
    const opened = nextStream();
    const client = await connectHttp1(base);
    const { stream, res } = await opened;
    // The body is written straight to the socket, so 'drain' is heard there.
    const socket = res.socket as net.Socket;
    const baseline = {
      close: res.listenerCount('close'),
      drain: socket.listenerCount('drain'),
      error: res.listenerCount('error'),
    };
    expect(streamStats()).toMatchObject({ open: 1, heartbeatTimers: 1, heartbeatStreams: 1 });
    let closes = 0;
    stream.onClose(() => closes++);
    const removed = stream.onClose(() => closes++);
    removed();
    const signal = stream.signal;
    client.close();
    await eventually(() => stream.closed, 'the stream to notice');
    expect(closes).toBe(1);
    expect(stream.closeReason).toBe('client');
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('AbortError');
    expect(stream.send({ data: 'late' })).toBe(false);
    expect(stream.bufferedBytes).toBe(0);
    expect(streamStats()).toEqual(RELEASED_STREAM_STATS);
    // The stream's own listeners are gone from the response.
    expect(res.listenerCount('close')).toBe(baseline.close - 1);
    expect(socket.listenerCount('drain')).toBe(baseline.drain - 1);
    expect(res.listenerCount('error')).toBe(baseline.error - 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closes).toBe(1);
  });

  it('close() delivers what is queued, ends the response, and runs close listeners once', async () => {
    const opened = nextStream();
    const client = await connectHttp1(base);
    const { stream, res } = await opened;
    const socket = res.socket as net.Socket;
    const listeners = () =>
      res.listenerCount('close') + socket.listenerCount('drain') + res.listenerCount('error');
    const before = listeners();
    let closes = 0;
    stream.onClose(() => closes++);
    for (let i = 0; i < 100; i++) stream.send({ id: String(i), data: `event ${i}` });
    stream.close();
    stream.close();
    expect(closes).toBe(1);
    expect(stream.closeReason).toBe('server');
    expect(stream.signal.aborted).toBe(true);
    await client.collector.waitForEnd();
    expect(client.collector.events.map((e) => e.data)).toEqual(
      Array.from({ length: 100 }, (_, i) => `event ${i}`),
    );
    expect(streamStats().open).toBe(0);
    await eventually(() => listeners() === before - 3, 'the stream’s listeners to be removed');
    // A listener added after the close still runs, once, soon.
    let late = 0;
    stream.onClose(() => late++);
    expect(late).toBe(0);
    await Promise.resolve();
    expect(late).toBe(1);
  });

  it('coalesces everything sent in one turn into one write', async () => {
    const writes: number[] = [];
    handler = (req, res) => {
      const write = res.write.bind(res) as (chunk: Uint8Array) => boolean;
      (res as unknown as { write: (chunk: Uint8Array) => boolean }).write = (chunk) => {
        // The empty write that sends the head carries no event.
        if (chunk.byteLength > 0) writes.push(chunk.byteLength);
        return write(chunk);
      };
      opened.resolve(EventStream.fromNode(req, res));
    };
    const opened = deferred<EventStream>();
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    for (let i = 0; i < 10; i++) stream.send({ data: String(i) });
    expect(writes).toEqual([]);
    await client.collector.waitForEvents(10);
    expect(writes).toHaveLength(1);
    stream.send({ data: 'next turn' });
    await client.collector.waitForEvents(11);
    expect(writes).toHaveLength(2);
    client.close();
  });

  it('treats a response whose client already left as closed', async () => {
    const arrived = deferred<void>();
    const gone = deferred<EventStream>();
    handler = (req, res) => {
      arrived.resolve();
      // As after slow authentication: the client is gone by the time the stream opens.
      req.socket.once('close', () => gone.resolve(EventStream.fromNode(req, res)));
    };
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await arrived.promise;
    socket.destroy();
    const stream = await gone.promise;
    expect(stream.closed).toBe(true);
    expect(stream.closeReason).toBe('client');
    expect(stream.send({ data: 'x' })).toBe(false);
    expect(streamStats()).toMatchObject({ open: 0, heartbeatStreams: 0 });
  });

  it('answers HEAD with the GET head and no body, and frees the connection for the next request', async () => {
    const opened = deferred<EventStream>();
    handler = (req, res) => {
      if (req.method !== 'HEAD') {
        res.end('next');
        return;
      }
      const stream = EventStream.fromNode(req, res, { retry: 1000 });
      // A handler written for GET: sending on a HEAD stream is harmless and goes nowhere.
      expect(stream.send({ data: 'x' })).toBe(false);
      opened.resolve(stream);
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const head = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = http.request(`${base}/events`, { method: 'HEAD', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res));
      });
      request.on('error', reject);
      request.end();
    });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const stream = await opened.promise;
    expect(stream.closed).toBe(true);
    // The same keep-alive connection serves the next request.
    const body = await new Promise<string>((resolve, reject) => {
      const request = http.get(`${base}/plain`, { agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(text));
      });
      request.on('error', reject);
    });
    expect(body).toBe('next');
    agent.destroy();
    expect(streamStats()).toMatchObject({ open: 0, heartbeatStreams: 0 });
  });

  it('refuses a response whose head was already sent', async () => {
    const failure = deferred<unknown>();
    handler = (req, res) => {
      res.writeHead(200);
      res.write('x');
      try {
        EventStream.fromNode(req, res);
      } catch (error) {
        failure.resolve(error);
      }
      res.end();
    };
    await fetch(base).then((r) => r.text());
    expect(String(await failure.promise)).toMatch(/response head was already sent/);
    expect(streamStats().open).toBe(0);
  });

  it('rejects invalid options with the option named, before touching the response', () => {
    const req = {} as IncomingMessage;
    const res = {} as ServerResponse;
    expect(() => EventStream.fromNode(req, res, { heartbeatMs: 0 })).toThrow(/"heartbeatMs"/);
    expect(() => EventStream.fromNode(req, res, { maxQueueBytes: -1 })).toThrow(/"maxQueueBytes"/);
    expect(() => EventStream.fromNode(req, res, { retry: 1.5 })).toThrow(/"retry"/);
    expect(() => EventStream.fromNode(req, res, { status: 99 })).toThrow(/"status"/);
    expect(streamStats().open).toBe(0);
  });
});
