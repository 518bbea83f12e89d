import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  EventStream,
  parseResumableEventId,
  type ResumableStore,
  ResumableStreams,
  StoreFullError,
  type StreamReader,
} from '@tidings/server';
import { serveBrowserModule } from './browser-modules.js';
import { replySource } from './reply-source.js';
import type { DescribedTokenSource } from './token-source.js';

const page = readFileSync(new URL('../public/index.html', import.meta.url));
const MAX_BODY_BYTES = 64 * 1024;
const STOP_PATH = /^\/chat\/([^/]+)\/stop$/;

export interface LlmServerOptions {
  /** Where tokens come from: an OpenAI-compatible API or the local generator. */
  source: DescribedTokenSource;
  /**
   * Where replies are kept. Default: this process's memory. Instances sharing a Redis store
   * (`RedisResumableStore`) resume and stop each other's replies.
   */
  store?: ResumableStore;
  /** How long a reply goes on with nobody reading before its upstream is aborted. Default 5 s. */
  graceMs?: number;
  /** How long a finished reply can still be resumed. Default 60 s. */
  retainMs?: number;
  /** The producer lease: a crashed instance's replies end `failed` within leaseMs + pollMs. Default 3 s. */
  leaseMs?: number;
  /** How often a waiting reader reads again without being woken. Default 1 s. */
  pollMs?: number;
  /** Replies generated at once by this instance; beyond it, 503. Default 100. */
  maxReplies?: number;
  /** Events per reply at most. Default 20 000. */
  maxEvents?: number;
  /** Longest prompt accepted, in characters. Default 4000. */
  maxPromptLength?: number;
}

/**
 * The llm-stream example's HTTP server, on `ResumableStreams`:
 * - `GET /` the chat page;
 * - `GET /chat?prompt=…` or `POST /chat` with `{"prompt": …}` starts a reply and streams it:
 *   `start` (JSON: the generation id and the token source), one `token` per token, then `done`,
 *   `failed` (reason) or `stopped` (reason). Every event has an id;
 * - the same routes with `Last-Event-ID` (header) or `?lastEventId=` resume that reply after
 *   that event — on any instance sharing the store, until its retention ends (then 204);
 * - `POST /chat/<generation>/stop` stops the reply wherever it is generated (202; 200 when it
 *   had already ended; 404 when unknown).
 */
export function createLlmServer(options: LlmServerOptions): Server {
  const maxReplies = options.maxReplies ?? 100;
  const maxPromptLength = options.maxPromptLength ?? 4_000;
  const streams = new ResumableStreams({
    ...(options.store ? { store: options.store } : {}),
    graceMs: options.graceMs ?? 5_000,
    retentionMs: options.retainMs ?? 60_000,
    leaseMs: options.leaseMs ?? 3_000,
    pollMs: options.pollMs ?? 1_000,
    maxEvents: options.maxEvents ?? 20_000,
  });
  let generating = 0;

  async function relay(req: IncomingMessage, res: ServerResponse, reader: StreamReader) {
    const stream = EventStream.fromNode(req, res);
    // Leaving (the client went away) ends the reader, never the reply: it keeps generating
    // for whoever comes back within the grace period.
    await stream.pipe(reader, { map: (event) => event });
    stream.close();
  }

  async function resume(req: IncomingMessage, res: ServerResponse, lastEventId: string) {
    const position = parseResumableEventId(lastEventId);
    if (!position) {
      return fail(
        res,
        400,
        `Last-Event-ID ${JSON.stringify(lastEventId)} is not an id this server sent`,
      );
    }
    let reader: StreamReader | undefined;
    try {
      reader = await streams.readStream(position.streamId, lastEventId);
    } catch (error) {
      if (error instanceof RangeError) return fail(res, 400, error.message);
      throw error;
    }
    // 204 tells an EventSource to stop reconnecting: there is nothing more to get.
    if (!reader) {
      res.writeHead(204, { 'x-reason': 'reply finished, expired or unknown' }).end();
      return;
    }
    await relay(req, res, reader);
  }

  async function start(req: IncomingMessage, res: ServerResponse, prompt: string) {
    if (prompt === '') {
      return fail(
        res,
        400,
        'Say something: add ?prompt=<your text> to /chat, or POST {"prompt": "..."}',
      );
    }
    if (prompt.length > maxPromptLength) {
      return fail(
        res,
        400,
        `The prompt has ${prompt.length} characters; at most ${maxPromptLength} are accepted`,
      );
    }
    if (generating >= maxReplies) return busy(res, `${maxReplies} replies are being generated`);
    const generation = randomUUID();
    try {
      const started = await streams.startStream(
        generation,
        replySource(generation, prompt, options.source),
      );
      generating++;
      void started.ended.finally(() => generating--);
    } catch (error) {
      if (error instanceof StoreFullError) return busy(res, error.message);
      throw error;
    }
    const reader = await streams.readStream(generation);
    if (reader) await relay(req, res, reader);
  }

  async function chat(req: IncomingMessage, res: ServerResponse, url: URL) {
    // The head a GET would get, and nothing else: a HEAD must not cost an upstream request.
    if (req.method === 'HEAD') {
      EventStream.fromNode(req, res);
      return;
    }
    const lastEventId = req.headers['last-event-id'] || url.searchParams.get('lastEventId');
    if (typeof lastEventId === 'string' && lastEventId !== '') {
      return resume(req, res, lastEventId);
    }
    if (req.method === 'GET') return start(req, res, url.searchParams.get('prompt')?.trim() ?? '');
    const body = await readJson(req, res);
    if (body === undefined) return;
    const prompt = (body as { prompt?: unknown } | null)?.prompt;
    if (typeof prompt !== 'string') {
      return fail(res, 400, 'The body must be JSON like {"prompt": "your text"}');
    }
    return start(req, res, prompt.trim());
  }

  async function stop(res: ServerResponse, generation: string) {
    if (await streams.stop(generation)) {
      res.writeHead(202, { 'content-type': 'text/plain; charset=utf-8' }).end('stopping\n');
    } else if (await streams.store.read(generation, -1, 0)) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('already ended\n');
    } else {
      fail(res, 404, `No reply ${generation}: it never existed or its retention ended`);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const stopping = STOP_PATH.exec(url.pathname);
    if (url.pathname === '/') {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, method, 'GET, HEAD');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    } else if (url.pathname === '/chat') {
      if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
        return notAllowed(res, method, 'GET, HEAD, POST');
      }
      await chat(req, res, url);
    } else if (stopping) {
      if (method !== 'POST') return notAllowed(res, method, 'POST');
      await stop(res, decodeURIComponent(stopping[1] ?? ''));
    } else if (method === 'GET' && (await serveBrowserModule(url.pathname, res))) {
      return;
    } else {
      fail(res, 404, `Nothing at ${url.pathname}: the page is at / and the stream at /chat`);
    }
  }

  return createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      // The store is unreachable (Redis down): say so rather than leave the request hanging.
      const reason = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) fail(res, 503, `The reply store is unavailable: ${reason}`);
      else res.destroy();
    });
  });
}

/** The parsed JSON body; undefined (and answered) when it is too big, not JSON or not sent as JSON. */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    fail(
      res,
      415,
      `Send the prompt as JSON (content-type: application/json), not ${type || 'no content type'}`,
    );
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      fail(res, 413, `The body is over ${MAX_BODY_BYTES} bytes`);
      req.resume();
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    fail(res, 400, 'The body is not valid JSON; send {"prompt": "your text"}');
    return undefined;
  }
}

function notAllowed(res: ServerResponse, method: string, allow: string): void {
  res.setHeader('allow', allow);
  fail(res, 405, `${method} is not supported here; use ${allow}`);
}

function busy(res: ServerResponse, why: string): void {
  res.setHeader('retry-after', '10');
  fail(res, 503, `${why}; try again in a few seconds`);
}

function fail(res: ServerResponse, status: number, reason: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${reason}\n`);
}
