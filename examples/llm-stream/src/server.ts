import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EventStream } from '@tidings/server';
import { Generation, parseReplyId } from './generation.js';
import type { DescribedTokenSource } from './token-source.js';

const page = readFileSync(new URL('../public/index.html', import.meta.url));

export interface LlmServerOptions {
  /** Where tokens come from: an OpenAI-compatible API or the local generator. */
  source: DescribedTokenSource;
  /** How long a reply goes on with nobody reading before its upstream is aborted. Default 5 s. */
  graceMs?: number;
  /** How long a finished reply can still be resumed. Default 60 s. */
  retainMs?: number;
  /** Replies kept at once (generating or resumable); beyond it, 503. Default 100. */
  maxReplies?: number;
  /** Events per reply at most. Default 20 000. */
  maxEvents?: number;
  /** Longest prompt accepted, in characters. Default 4000. */
  maxPromptLength?: number;
}

/**
 * The llm-stream example's HTTP server. `GET /` is the chat page. `GET /chat?prompt=...`
 * starts a reply and streams it: a `start` event naming the token source, a `token` event per
 * token, and `done` (or `failed` with the reason). Every event has an id; a request with
 * `Last-Event-ID` (header, or `?lastEventId=` from a reloaded page) resumes that reply after
 * that event, without asking the upstream again.
 */
export function createLlmServer(options: LlmServerOptions): Server {
  const graceMs = options.graceMs ?? 5_000;
  const retainMs = options.retainMs ?? 60_000;
  const maxReplies = options.maxReplies ?? 100;
  const maxEvents = options.maxEvents ?? 20_000;
  const maxPromptLength = options.maxPromptLength ?? 4_000;
  const replies = new Map<string, Generation>();

  function startReply(prompt: string): Generation {
    const generation = new Generation(randomUUID(), prompt, options.source, { graceMs, maxEvents });
    replies.set(generation.id, generation);
    generation.finished.then(() => {
      setTimeout(() => replies.delete(generation.id), retainMs).unref();
    });
    return generation;
  }

  async function relay(
    req: IncomingMessage,
    res: ServerResponse,
    generation: Generation,
    after: number,
  ) {
    const stream = EventStream.fromNode(req, res);
    await stream.pipe(generation.read(after), {
      map: (event) => ({ id: event.id, event: event.type, data: event.data }),
    });
    stream.close();
  }

  function chat(req: IncomingMessage, res: ServerResponse, url: URL): void {
    // The head a GET would get, and nothing else: a HEAD must not cost an upstream request.
    if (req.method === 'HEAD') {
      EventStream.fromNode(req, res);
      return;
    }
    const resumeFrom = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId');
    if (typeof resumeFrom === 'string' && resumeFrom !== '') {
      const position = parseReplyId(resumeFrom);
      const generation = position && replies.get(position.generation);
      // 204 tells an EventSource to stop reconnecting: there is nothing more to get.
      if (!position || !generation || (generation.done && position.index >= generation.lastIndex)) {
        res.writeHead(204, { 'x-reason': 'reply finished, expired or unknown' }).end();
        return;
      }
      void relay(req, res, generation, position.index);
      return;
    }

    const prompt = url.searchParams.get('prompt')?.trim() ?? '';
    if (prompt === '') {
      fail(res, 400, 'Say something: add ?prompt=<your text> to /chat');
    } else if (prompt.length > maxPromptLength) {
      fail(
        res,
        400,
        `The prompt has ${prompt.length} characters; at most ${maxPromptLength} are accepted`,
      );
    } else if (replies.size >= maxReplies) {
      res.setHeader('retry-after', '10');
      fail(
        res,
        503,
        `${maxReplies} replies are in progress or kept for resuming; try again in a few seconds`,
      );
    } else {
      void relay(req, res, startReply(prompt), -1);
    }
  }

  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      fail(res, 405, `${req.method} is not supported; use GET`);
    } else if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    } else if (url.pathname === '/chat') {
      chat(req, res, url);
    } else {
      fail(res, 404, `Nothing at ${url.pathname}: the page is at / and the stream at /chat`);
    }
  });
}

function fail(res: ServerResponse, status: number, reason: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${reason}\n`);
}
