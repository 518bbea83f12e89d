import http from 'node:http';
import { EventStream, streamStats } from '@tidings/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeServer, connectHttp1, deferred, eventually, listen } from './support/sse-client.js';

let server: http.Server;
let base: string;
let opened: ReturnType<typeof deferred<EventStream>>;

beforeEach(async () => {
  opened = deferred<EventStream>();
  server = http.createServer((req, res) => opened.resolve(EventStream.fromNode(req, res)));
  base = await listen(server);
});

afterEach(async () => {
  await closeServer(server);
  await eventually(() => streamStats().open === 0, 'every stream to close');
});

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EventStream.pipe', () => {
  it('sends every item of an async iterable, then resolves with the stream still open', async () => {
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    async function* tokens() {
      for (const token of ['Hel', 'lo', ', ', 'world']) {
        await tick(1);
        yield token;
      }
    }
    await stream.pipe(tokens());
    stream.send({ event: 'done', data: { tokens: 4 } });
    const events = await client.collector.waitForEvents(5);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['message', 'Hel'],
      ['message', 'lo'],
      ['message', ', '],
      ['message', 'world'],
      ['done', '{"tokens":4}'],
    ]);
    expect(stream.closed).toBe(false);
    client.close();
  });

  it('maps items to events', async () => {
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    async function* numbers() {
      yield* [1, 2, 3];
    }
    await stream.pipe(numbers(), { map: (n) => ({ event: 'n', id: String(n), data: { n } }) });
    const events = await client.collector.waitForEvents(3);
    expect(events.map((e) => [e.type, e.lastEventId, e.data])).toEqual([
      ['n', '1', '{"n":1}'],
      ['n', '2', '{"n":2}'],
      ['n', '3', '{"n":3}'],
    ]);
    client.close();
  });

  it('stops on disconnect: resolves, aborts the signal and stops a source that is waiting', async () => {
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    let finished = false;
    let upstreamAborted = false;
    async function* llm(signal: AbortSignal) {
      try {
        yield 'first';
        yield 'second';
        // An upstream that answers only when aborted, like a fetch given the stream's signal.
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        upstreamAborted = signal.aborted;
        yield 'never sent';
      } finally {
        finished = true;
      }
    }
    const piping = stream.pipe(llm(stream.signal));
    await client.collector.waitForEvents(2);
    client.close();
    await piping;
    expect(stream.closed).toBe(true);
    expect(stream.signal.aborted).toBe(true);
    await eventually(() => finished, 'the generator to finish');
    expect(upstreamAborted).toBe(true);
    expect(client.collector.events.map((e) => e.data)).toEqual(['first', 'second']);
  });

  it('resolves on disconnect even when the source never yields again', async () => {
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    const stuck: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<string>>(() => {}),
      }),
    };
    const piping = stream.pipe(stuck);
    await tick(5);
    client.close();
    await piping;
    expect(stream.closeReason).toBe('client');
  });

  it('cancels a ReadableStream source on disconnect', async () => {
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    const cancelled = deferred<unknown>();
    let pulls = 0;
    const source = new ReadableStream<string>({
      async pull(controller) {
        const n = pulls++;
        await tick(2);
        controller.enqueue(`chunk ${n}`);
      },
      cancel: (reason) => cancelled.resolve(reason ?? 'cancelled'),
    });
    const piping = stream.pipe(source);
    await client.collector.waitForEvents(3);
    client.close();
    await piping;
    await cancelled.promise;
    // No pull starts after the cancel.
    const pullsAtCancel = pulls;
    await tick(20);
    expect(pulls).toBe(pullsAtCancel);
  });

  it('waits for a client that is behind instead of queueing without bound', async () => {
    const client = await connectHttp1(base);
    client.response.pause();
    const stream = await opened.promise;
    let produced = 0;
    const total = 5000; // 80 MB: far more than any socket buffer takes from a client that reads nothing
    const payload = 'p'.repeat(16 * 1024);
    async function* fast() {
      while (produced < total) {
        produced++;
        yield payload;
      }
    }
    const piping = stream.pipe(fast(), { map: (data) => ({ id: String(produced), data }) });
    for (let sample = 0; sample < 40; sample++) {
      await tick(5);
      expect(stream.bufferedBytes).toBeLessThanOrEqual(1024 * 1024);
    }
    // Held back by the client, not dropped as a slow consumer.
    expect(produced).toBeLessThan(total);
    expect(stream.closed).toBe(false);
    client.response.resume();
    await piping;
    await client.collector.waitForEvents(total, 20_000);
    expect(client.collector.events.map((e) => Number(e.lastEventId))).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    client.close();
  });

  it('rejects with the source error and leaves the stream open', async () => {
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    async function* failing() {
      yield 'ok';
      throw new Error('upstream 502');
    }
    await expect(stream.pipe(failing())).rejects.toThrow('upstream 502');
    expect(stream.closed).toBe(false);
    stream.send({ event: 'error', data: 'upstream failed' });
    const events = await client.collector.waitForEvents(2);
    expect(events.map((e) => e.type)).toEqual(['message', 'error']);
    client.close();
  });

  it('rejects when an item cannot be sent, and stops the source', async () => {
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    let finished = false;
    async function* names() {
      try {
        yield 'fine';
        yield 'bad\nname';
        yield 'unreached';
      } finally {
        finished = true;
      }
    }
    await expect(stream.pipe(names(), { map: (event) => ({ event, data: '' }) })).rejects.toThrow(
      /"event" must not contain CR, LF or NUL/,
    );
    await eventually(() => finished, 'the source to be stopped');
    expect(stream.closed).toBe(false);
    client.close();
  });

  it('does nothing on a closed stream but stop the source', async () => {
    const client = await connectHttp1(base);
    const stream = await opened.promise;
    stream.close();
    let started = false;
    const cancelled = deferred<void>();
    const source = new ReadableStream<string>({
      start: () => {
        started = true;
      },
      cancel: () => cancelled.resolve(),
    });
    await stream.pipe(source);
    await cancelled.promise;
    expect(started).toBe(true);
    await client.collector.waitForEnd();
    expect(client.collector.events).toHaveLength(0);
  });
});
