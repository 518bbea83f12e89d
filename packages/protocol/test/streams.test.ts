import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type EventMessage,
  EventStreamEncoderStream,
  EventStreamParserStream,
  encodeEvent,
  ParseError,
  type ServerSentEvent,
} from '@tidings/protocol';
import { afterEach, describe, expect, test } from 'vitest';
import { readAll, streamOf } from './support/streams.js';

const encoder = new TextEncoder();
const message = (data: string, lastEventId = '', type = 'message'): ServerSentEvent => ({
  type,
  data,
  lastEventId,
});

let server: Server | undefined;

afterEach(async () => {
  const running = server;
  server = undefined;
  if (running === undefined) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

/** Serves one handler on 127.0.0.1 at a free port; returns its URL. */
async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<string> {
  server = createServer((req, res) => {
    void handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}/`;
}

/** Writes one chunk and waits until the socket took it, so chunks reach the client apart. */
async function write(res: ServerResponse, chunk: Uint8Array | string): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    res.write(chunk, (error) => (error ? reject(error) : resolve())),
  );
}

function startEventStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

describe('EventStreamParserStream on a fetch body', () => {
  test('parses a body whose chunks split CRLF pairs, multi-byte characters and the BOM', async () => {
    const wire = encoder.encode(
      '\uFEFFid: 1\r\ndata: 你好\r\n\r\n: note\rretry: 1500\rdata: 😀\r\r',
    );
    // Cut inside the BOM, inside "你", between CR and LF, and inside the emoji.
    const cuts = [0, 2, 12, 15, 20, 28, wire.length - 4, wire.length - 2, wire.length];
    const url = await serve(async (_req, res) => {
      startEventStream(res);
      for (let i = 1; i < cuts.length; i++) await write(res, wire.subarray(cuts[i - 1], cuts[i]));
      res.end();
    });
    const retries: number[] = [];
    const comments: string[] = [];
    const response = await fetch(url);
    const events = await readAll(
      response.body!.pipeThrough(
        new EventStreamParserStream({
          onRetry: (ms) => retries.push(ms),
          onComment: (text) => comments.push(text),
        }),
      ),
    );
    expect(events).toEqual([message('你好', '1'), message('😀', '1')]);
    expect(retries).toEqual([1500]);
    expect(comments).toEqual(['note']);
  });

  test('an event ended by CR CR arrives before the server sends anything more', async () => {
    let sendRest!: () => void;
    const restAllowed = new Promise<void>((resolve) => {
      sendRest = resolve;
    });
    const url = await serve(async (_req, res) => {
      startEventStream(res);
      await write(res, 'data: first\r\r');
      await restAllowed;
      await write(res, 'data: second\r\r');
      res.end();
    });
    const response = await fetch(url);
    const reader = response.body!.pipeThrough(new EventStreamParserStream()).getReader();
    // A parser that waited for the byte after the final CR would hang here until the timeout.
    const first = await Promise.race([
      reader.read(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('event held back')), 2000)),
    ]);
    expect(first).toEqual({ done: false, value: message('first') });
    sendRest();
    expect(await reader.read()).toEqual({ done: false, value: message('second') });
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });

  test('takes strings too, e.g. after a TextDecoderStream', async () => {
    const url = await serve(async (_req, res) => {
      startEventStream(res);
      await write(res, 'event: greeting\ndata: hé');
      await write(res, 'llo\n\n');
      res.end();
    });
    const response = await fetch(url);
    const events = await readAll(
      response
        .body!.pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventStreamParserStream()),
    );
    expect(events).toEqual([message('héllo', '', 'greeting')]);
  });

  test('discards an event the body ends in the middle of', async () => {
    const url = await serve(async (_req, res) => {
      startEventStream(res);
      await write(res, 'data: complete\n\ndata: cut off');
      res.end();
    });
    const response = await fetch(url);
    const events = await readAll(response.body!.pipeThrough(new EventStreamParserStream()));
    expect(events).toEqual([message('complete')]);
  });

  test('starts from the lastEventId option, as a reconnecting client does', async () => {
    const events = await readAll(
      streamOf([encoder.encode('data: a\n\n')]).pipeThrough(
        new EventStreamParserStream({ lastEventId: '41' }),
      ),
    );
    expect(events).toEqual([message('a', '41')]);
  });
});

describe('EventStreamParserStream limits', () => {
  const oversized = () => streamOf(['data: ok\n\ndata: far too long\n\ndata: after\n\n']);

  test("onError 'terminate' (the default) errors the stream with the ParseError", async () => {
    const reader = oversized()
      .pipeThrough(new EventStreamParserStream({ maxLineLength: 12 }))
      .getReader();
    expect(await reader.read()).toEqual({ done: false, value: message('ok') });
    const failure = await reader.read().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ParseError);
    expect((failure as ParseError).code).toBe('line-too-long');
  });

  test('after terminating, the rest of the chunk reaches no callback', async () => {
    const retries: number[] = [];
    const comments: string[] = [];
    const reader = streamOf(['data: far too long\n\n: after\nretry: 5\ndata: x\n\n'])
      .pipeThrough(
        new EventStreamParserStream({
          maxLineLength: 12,
          onRetry: (ms) => retries.push(ms),
          onComment: (text) => comments.push(text),
        }),
      )
      .getReader();
    await expect(reader.read()).rejects.toBeInstanceOf(ParseError);
    expect(retries).toEqual([]);
    expect(comments).toEqual([]);
  });

  test("onError 'ignore' drops the event and goes on", async () => {
    const events = await readAll(
      oversized().pipeThrough(
        new EventStreamParserStream({ maxLineLength: 12, onError: 'ignore' }),
      ),
    );
    expect(events).toEqual([message('ok'), message('after')]);
  });

  test('an onError function is called and the stream goes on', async () => {
    const errors: ParseError[] = [];
    const events = await readAll(
      oversized().pipeThrough(
        new EventStreamParserStream({ maxLineLength: 12, onError: (e) => errors.push(e) }),
      ),
    );
    expect(events).toEqual([message('ok'), message('after')]);
    expect(errors.map((e) => e.code)).toEqual(['line-too-long']);
  });
});

describe('EventStreamEncoderStream', () => {
  test('turns events into the bytes encodeEvent gives', async () => {
    const messages: EventMessage[] = [
      { retry: 2000 },
      { id: '1', event: 'token', data: '你好' },
      { data: 'two\nlines' },
    ];
    const chunks = await readAll(streamOf(messages).pipeThrough(new EventStreamEncoderStream()));
    expect(chunks.every((c) => c instanceof Uint8Array)).toBe(true);
    expect(chunks.map((c) => new TextDecoder().decode(c))).toEqual(messages.map(encodeEvent));
  });

  test('serves a response body that a fetch client parses back, over a real socket', async () => {
    const messages: EventMessage[] = [
      { id: 'a', data: 'first' },
      { event: 'custom', data: 'multi\r\nline' },
      { id: 'b' },
      { data: '' },
    ];
    const url = await serve(async (_req, res) => {
      startEventStream(res);
      const reader = streamOf(messages).pipeThrough(new EventStreamEncoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await write(res, value);
      }
      res.end();
    });
    const response = await fetch(url);
    const events = await readAll(response.body!.pipeThrough(new EventStreamParserStream()));
    expect(events).toEqual([
      message('first', 'a'),
      message('multi\nline', 'a', 'custom'),
      message('', 'b'),
    ]);
  });

  test('errors the stream with a TypeError naming the field of an invalid event', async () => {
    const reader = streamOf<EventMessage>([{ data: 'fine' }, { id: 'x\ny', data: 'bad' }])
      .pipeThrough(new EventStreamEncoderStream())
      .getReader();
    expect((await reader.read()).done).toBe(false);
    const failure = await reader.read().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).message).toContain('"id"');
  });
});
