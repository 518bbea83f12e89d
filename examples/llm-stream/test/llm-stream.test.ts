import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventSource } from '@tidings/client';
import { createParser } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { localGenerator, localReply } from '../src/local-generator.js';
import { openAiUpstream } from '../src/openai-upstream.js';
import { createLlmServer, type LlmServerOptions } from '../src/server.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface FakeRequest {
  headers: IncomingMessage['headers'];
  body: { model: string; stream: boolean; messages: { role: string; content: string }[] };
  /** Resolves when the upstream connection closed (the example aborted it, or it ended). */
  closed: Promise<void>;
}

/**
 * An OpenAI-compatible chat completions endpoint, streaming `tokens` as the API does
 * (`data: {choices:[{delta:{content}}]}` then `data: [DONE]`). With `stallAfter`, it stops
 * sending after that many tokens and holds the connection open.
 */
async function fakeOpenAi(options: {
  tokens?: string[];
  delayMs?: number;
  stallAfter?: number;
  status?: number;
}) {
  const requests: FakeRequest[] = [];
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
    requests.push({ headers: req.headers, body: JSON.parse(raw), closed });
    if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    if (options.status !== undefined) {
      res.writeHead(options.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const tokens = options.tokens ?? [];
    for (let i = 0; i < tokens.length; i++) {
      if (i === options.stallAfter) return;
      if (res.destroyed) return;
      const chunk = {
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: tokens[i] } }],
      };
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 1));
    }
    res.end('data: [DONE]\n\n');
  });
  const url = await listen(server);
  return { baseUrl: `${url}/v1`, requests };
}

async function startExample(options: LlmServerOptions): Promise<string> {
  return listen(createLlmServer(options));
}

interface Received {
  type: string;
  data: string;
  id: string;
}

/** Reads a /chat stream with fetch and our parser until it ends or `stopAfter` events. */
async function read(url: string, init: RequestInit & { stopAfter?: number } = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const events: Received[] = [];
  if (response.status !== 200) return { response, events };
  const parser = createParser({
    onEvent: (event) => events.push({ type: event.type, data: event.data, id: event.lastEventId }),
  });
  const reader = response.body!.getReader();
  for (;;) {
    if (init.stopAfter !== undefined && events.length >= init.stopAfter) {
      controller.abort();
      break;
    }
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  return { response, events };
}

describe('llm-stream example', () => {
  it('relays the tokens of an OpenAI-compatible upstream, one event each, in order', async () => {
    const tokens = ['Hel', 'lo', ',', ' wor', 'ld', '\n\n', 'Bye.'];
    const upstream = await fakeOpenAi({ tokens });
    const url = await startExample({
      source: openAiUpstream({ baseUrl: upstream.baseUrl, apiKey: 'sk-test', model: 'test-model' }),
    });
    const { response, events } = await read(
      `${url}/chat?prompt=${encodeURIComponent('Say hello')}`,
    );

    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(events[0]!.type).toBe('start');
    expect(JSON.parse(events[0]!.data).source).toContain('test-model');
    expect(events.slice(1, -1).map((e) => [e.type, e.data])).toEqual(
      tokens.map((t) => ['token', t]),
    );
    expect(events.at(-1)!.type).toBe('done');
    // Every event has its own id: what a reconnecting client resumes from.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    const [request] = upstream.requests;
    expect(request!.headers.authorization).toBe('Bearer sk-test');
    expect(request!.body).toEqual({
      model: 'test-model',
      stream: true,
      messages: [{ role: 'user', content: 'Say hello' }],
    });
  });

  it('renders in a client as the tokens arrive (EventSource, like the page)', async () => {
    const url = await startExample({ source: localGenerator({ delayMs: 0 }) });
    const source = new EventSource(`${url}/chat?prompt=hi`);
    cleanups.push(() => source.close());
    let text = '';
    let described = '';
    source.addEventListener('start', (event) => {
      described = JSON.parse((event as MessageEvent<string>).data).source;
    });
    source.addEventListener('token', (event) => {
      text += (event as MessageEvent<string>).data;
    });
    await new Promise((resolve) => source.addEventListener('done', resolve));
    source.close();
    expect(text).toBe(localReply('hi'));
    // The local generator says plainly that it is not a model, before and within the reply.
    expect(described).toMatch(/local text generator \(not a language model/);
    expect(text).toContain('not from a language model');
  });

  it('aborts the upstream request when the client leaves', async () => {
    const upstream = await fakeOpenAi({ tokens: ['a', 'b', 'c', 'd'], stallAfter: 2 });
    const url = await startExample({
      source: openAiUpstream({ baseUrl: upstream.baseUrl, model: 'm' }),
      graceMs: 0,
      leaseMs: 300,
      pollMs: 100,
    });
    const { events } = await read(`${url}/chat?prompt=x`, { stopAfter: 3 });
    expect(events.map((e) => e.data)).toEqual([expect.any(String), 'a', 'b']);
    // The stalled upstream connection is closed by the example, not by the fake.
    await expect(
      Promise.race([
        upstream.requests[0]!.closed.then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('still open'), 2_000)),
      ]),
    ).resolves.toBe('closed');
  });

  it('resumes after Last-Event-ID without asking the upstream again', async () => {
    const tokens = Array.from({ length: 12 }, (_, i) => `t${i} `);
    const upstream = await fakeOpenAi({ tokens, delayMs: 15 });
    const url = await startExample({
      source: openAiUpstream({ baseUrl: upstream.baseUrl, model: 'm' }),
      graceMs: 5_000,
    });
    const first = await read(`${url}/chat?prompt=go`, { stopAfter: 4 });
    const lastSeen = first.events.at(-1)!.id;

    const rest = await read(`${url}/chat?prompt=go`, { headers: { 'Last-Event-ID': lastSeen } });
    const seen = [...first.events, ...rest.events];
    expect(seen.filter((e) => e.type === 'token').map((e) => e.data)).toEqual(tokens);
    expect(seen.at(-1)!.type).toBe('done');
    expect(upstream.requests).toHaveLength(1);

    // A reloaded page passes the id in the query instead; after the end there is nothing left:
    // 204 tells an EventSource to stop reconnecting.
    const after = await fetch(`${url}/chat?lastEventId=${encodeURIComponent(seen.at(-1)!.id)}`);
    expect(after.status).toBe(204);
    expect((await fetch(`${url}/chat?lastEventId=unknown.3`)).status).toBe(204);
  });

  it('tells the page why when the upstream fails', async () => {
    const upstream = await fakeOpenAi({ status: 401 });
    const url = await startExample({
      source: openAiUpstream({ baseUrl: upstream.baseUrl, model: 'm' }),
    });
    const { events } = await read(`${url}/chat?prompt=x`);
    expect(events.map((e) => e.type)).toEqual(['start', 'failed']);
    expect(events[1]!.data).toMatch(
      /^the model API answered 401 Unauthorized: .*Incorrect API key/,
    );
  });

  it('refuses requests it cannot serve with a reason', async () => {
    const url = await startExample({ source: localGenerator({ delayMs: 0 }), maxPromptLength: 10 });
    const empty = await fetch(`${url}/chat`);
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('?prompt=');
    const long = await fetch(`${url}/chat?prompt=${'x'.repeat(11)}`);
    expect(long.status).toBe(400);
    expect(await long.text()).toContain('at most 10');
    const page = await fetch(`${url}/`);
    expect(await page.text()).toContain("import { connect } from '@tidings/client'");

    // Resuming from an id this server never sent: a reason, not a hang.
    const bogus = await fetch(`${url}/chat`, { headers: { 'Last-Event-ID': 'no-dot-here' } });
    expect(bogus.status).toBe(400);
    expect(await bogus.text()).toContain('is not an id this server sent');

    const post = (body: string, type = 'application/json') =>
      fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': type }, body });
    const notJson = await post('prompt=hi', 'application/x-www-form-urlencoded');
    expect(notJson.status).toBe(415);
    expect(await notJson.text()).toContain('application/json');
    const broken = await post('{"prompt": ');
    expect(broken.status).toBe(400);
    expect(await broken.text()).toContain('not valid JSON');
    const wrongShape = await post('{"text": "hi"}');
    expect(wrongShape.status).toBe(400);
    expect(await wrongShape.text()).toContain('{"prompt": "your text"}');
    const huge = await post(JSON.stringify({ prompt: 'x'.repeat(70_000) }));
    expect(huge.status).toBe(413);
    const put = await fetch(`${url}/chat`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
  });

  it('starts a reply from POST /chat with a JSON prompt', async () => {
    const url = await startExample({ source: localGenerator({ delayMs: 0 }) });
    const { response, events } = await read(`${url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'über ✓' }),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const start = JSON.parse(events[0]!.data);
    expect(start.generation).toMatch(/^[0-9a-f-]{36}$/);
    expect(events[0]!.id).toBe(`${start.generation}.0`);
    const text = events
      .filter((e) => e.type === 'token')
      .map((e) => e.data)
      .join('');
    expect(text).toBe(localReply('über ✓'));
    expect(events.at(-1)!.type).toBe('done');
  });

  it('stops a reply on POST /chat/<generation>/stop: `stopped`, the upstream aborted, no token after', async () => {
    const upstream = await fakeOpenAi({ tokens: ['a', 'b', 'c'], stallAfter: 2 });
    const url = await startExample({
      source: openAiUpstream({ baseUrl: upstream.baseUrl, model: 'm' }),
    });
    const controller = new AbortController();
    const response = await fetch(`${url}/chat?prompt=x`, { signal: controller.signal });
    const events: Received[] = [];
    const parser = createParser({
      onEvent: (event) =>
        events.push({ type: event.type, data: event.data, id: event.lastEventId }),
    });
    const reader = response.body!.getReader();
    while (events.length < 3) parser.feed((await reader.read()).value!);
    const generation = JSON.parse(events[0]!.data).generation;

    const stop = await fetch(`${url}/chat/${generation}/stop`, { method: 'POST' });
    expect(stop.status).toBe(202);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
    expect(events.map((e) => e.type)).toEqual(['start', 'token', 'token', 'stopped']);
    await upstream.requests[0]!.closed;

    expect((await fetch(`${url}/chat/${generation}/stop`, { method: 'POST' })).status).toBe(200);
    const unknown = await fetch(`${url}/chat/no-such-reply/stop`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('No reply no-such-reply');
    expect((await fetch(`${url}/chat/${generation}/stop`)).status).toBe(405);
  });

  it('answers HEAD /chat with the stream head without asking the upstream', async () => {
    const upstream = await fakeOpenAi({ tokens: ['never'] });
    const url = await startExample({
      source: openAiUpstream({ baseUrl: upstream.baseUrl, model: 'test-model' }),
    });
    const head = await fetch(`${url}/chat?prompt=hi`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // A GET afterwards does reach the upstream: the HEAD alone did not.
    const { events } = await read(`${url}/chat?prompt=hi`);
    expect(events.map((e) => e.type)).toEqual(['start', 'token', 'done']);
    expect(upstream.requests).toHaveLength(1);
  });
});
