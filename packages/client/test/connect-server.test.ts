import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, StallError } from '@tidings/client';
import { Channel, EventStream } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { VirtualClock } from './support/virtual-clock.js';

// connect() against the real @tidings/server EventStream: the two halves of the protocol
// this project ships, over real sockets.

interface Served {
  url: string;
  /** Every EventStream the handler opened, in order. */
  streams: EventStream[];
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
});

async function serve(
  handle: (request: IncomingMessage, response: ServerResponse, streams: EventStream[]) => void,
): Promise<Served> {
  const streams: EventStream[] = [];
  const server = createServer((request, response) => handle(request, response, streams));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, streams };
}

const noJitter = { jitter: 0 };

describe('connect() with @tidings/server', () => {
  it('resumes from a Channel with Last-Event-ID: no gap, no duplicate', async () => {
    const channel = new Channel<{ message: { tick: number } }>();
    const served = await serve((request, response, streams) => {
      const stream = EventStream.fromNode(request, response, { heartbeatMs: false });
      streams.push(stream);
      channel.subscribe(stream);
    });
    const clock = new VirtualClock({ auto: true });
    const connection = connect(served.url, { clock, parse: 'json' });
    const ticks: unknown[] = [];
    let lastIdBeforeDrop = '';
    await eventually(() => channel.size === 1, 'the subscription');
    for (let tick = 1; tick <= 3; tick++) channel.publish({ data: { tick } });

    for await (const event of connection) {
      ticks.push(event.data);
      if (ticks.length === 3) {
        lastIdBeforeDrop = event.lastEventId;
        // The server drops the client, and publishes on while it is away.
        served.streams[0]?.close();
        for (let tick = 4; tick <= 5; tick++) channel.publish({ data: { tick } });
      }
      if (ticks.length === 5) break;
    }
    expect(ticks).toEqual([{ tick: 1 }, { tick: 2 }, { tick: 3 }, { tick: 4 }, { tick: 5 }]);
    expect(served.streams).toHaveLength(2);
    expect(served.streams[1]?.lastEventId).toBe(lastIdBeforeDrop);
    channel.close();
  });

  it("waits the server's retry: before reconnecting", async () => {
    const served = await serve((request, response, streams) => {
      const stream = EventStream.fromNode(request, response, { retry: 1500, heartbeatMs: false });
      streams.push(stream);
      stream.send({ data: 'hello' });
      stream.close();
    });
    const clock = new VirtualClock();
    const connection = connect(served.url, { clock, backoff: noJitter });
    const iterator = connection[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ data: 'hello' });
    await eventually(() => clock.pending().length === 1, 'the reconnection delay');
    expect(clock.pending()).toEqual([1500]);
    connection.close();
  });

  it('backs off while the server accepts and drops at once, and starts over after an event', async () => {
    const served = await serve((request, response, streams) => {
      const stream = EventStream.fromNode(request, response, { heartbeatMs: false });
      streams.push(stream);
      // Three connections that carry nothing, then one that carries an event.
      if (streams.length === 4) stream.send({ data: 'finally' });
      stream.close();
    });
    const clock = new VirtualClock();
    const connection = connect(served.url, { clock, backoff: noJitter });
    const seen: string[] = [];
    void (async () => {
      for await (const event of connection) seen.push(event.data);
    })();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      await eventually(
        () => clock.pending().length === 1 && served.streams.length === attempt,
        `the delay after attempt ${attempt}`,
      );
      delays.push(clock.runNext());
    }
    expect(delays).toEqual([1000, 2000, 4000, 1000]);
    expect(seen).toEqual(['finally']);
    connection.close();
  });

  it('keeps a connection that heartbeats, and reconnects one that stalls', async () => {
    const served = await serve((request, response, streams) => {
      // The first stream heartbeats every 20 ms; the second goes silent after its event.
      const first = streams.length === 0;
      const stream = EventStream.fromNode(request, response, { heartbeatMs: first ? 20 : false });
      streams.push(stream);
      stream.send({ id: first ? 'e1' : 'e2', data: first ? 'one' : 'two' });
    });
    const clock = new VirtualClock();
    const errors: Error[] = [];
    const connection = connect(served.url, {
      clock,
      stallTimeout: 45_000,
      backoff: noJitter,
      onerror: (error) => errors.push(error),
    });
    const iterator = connection[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ data: 'one' });
    await eventually(() => clock.pending()[0] === 45_000, 'the stall timer');
    clock.advance(44_000);
    // A heartbeat comment arrives and re-arms the timer: the connection lives on.
    await eventually(() => clock.pending()[0] === 45_000, 'a heartbeat re-arming the stall timer');
    expect(served.streams).toHaveLength(1);

    // The server ends this stream; the next one goes silent after its event.
    served.streams[0]?.close();
    await eventually(() => clock.pending()[0] === 1000, 'the reconnection delay');
    clock.runNext();
    expect((await iterator.next()).value).toMatchObject({ data: 'two' });
    expect(served.streams[1]?.lastEventId).toBe('e1');

    await eventually(() => clock.pending()[0] === 45_000, 'the stall timer on the silent stream');
    clock.advance(45_000);
    await eventually(() => clock.pending()[0] === 1000, 'the reconnection after the stall');
    expect(errors.at(-1)).toBeInstanceOf(StallError);
    // The server hears that the stalled client went away.
    await eventually(() => served.streams[1]?.closed === true, 'the server-side close');
    clock.runNext();
    await eventually(() => served.streams.length === 3, 'the third connection');
    expect(served.streams[2]?.lastEventId).toBe('e2');
    connection.close();
  });

  it('break ends the loop cleanly and aborts the server-side work', async () => {
    let produced = 0;
    const served = await serve((request, response, streams) => {
      const stream = EventStream.fromNode(request, response, { heartbeatMs: false });
      streams.push(stream);
      const tokens = async function* () {
        while (!stream.signal.aborted) {
          produced++;
          yield `token ${produced}`;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      void stream.pipe(tokens());
    });
    const seen: string[] = [];
    for await (const event of connect(served.url)) {
      seen.push(event.data);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['token 1', 'token 2', 'token 3']);
    await eventually(() => served.streams[0]?.signal.aborted === true, 'the server-side abort');
    expect(served.streams[0]?.closeReason).toBe('client');
    const producedAtAbort = produced;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(produced).toBe(producedAtAbort);
  });

  it('an aborted signal closes the server stream too', async () => {
    const served = await serve((request, response, streams) => {
      const stream = EventStream.fromNode(request, response, { heartbeatMs: false });
      streams.push(stream);
      stream.send({ data: 'ready' });
    });
    const controller = new AbortController();
    const connection = connect(served.url, { signal: controller.signal });
    for await (const event of connection) {
      expect(event.data).toBe('ready');
      controller.abort();
    }
    await connection.closed;
    await eventually(() => served.streams[0]?.closeReason === 'client', 'the server-side close');
  });

  it('streams an LLM-style reply to a POST: sent once, the loop ends with the reply', async () => {
    const served = await serve(async (request, response, streams) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const { prompt } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { prompt: string };
      const stream = EventStream.fromNode<{ token: { text: string }; done: null }>(
        request,
        response,
        {
          heartbeatMs: false,
        },
      );
      // The list is untyped; this stream has its own event map.
      streams.push(stream as unknown as EventStream);
      for (const text of `You said: ${prompt}`.split(/(?<= )/)) {
        stream.send({ event: 'token', data: { text } });
      }
      stream.send({ event: 'done', data: null });
      stream.close();
    });
    const clock = new VirtualClock({ auto: true });
    let reply = '';
    let done = false;
    const connection = connect<{ token: { text: string }; done: null }>(served.url, {
      clock,
      json: { prompt: 'hello there' },
      parse: 'json',
    });
    for await (const event of connection) {
      if (event.type === 'token') reply += event.data.text;
      else done = true;
    }
    expect(reply).toBe('You said: hello there');
    expect(done).toBe(true);
    await expect(connection.closed).resolves.toBeUndefined();
    expect(served.streams).toHaveLength(1);
    expect(clock.pending()).toEqual([]);
  });
});
