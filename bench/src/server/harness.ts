import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type BenchPayload, createPayload } from '@tidings/hub/load';
import type { ServerReady, ServerRequest, ServerStats } from './messages.js';
import { publishAtRate } from './publish-loop.js';

/** One implementation under test: how it answers a subscriber and how it broadcasts. */
export interface BroadcastServer {
  /** Handles `GET /events`: answers with an event stream and subscribes it. */
  subscribe(req: IncomingMessage, res: ServerResponse): void;
  /** Sends one event with `payload` (serialized as JSON) to every subscriber. */
  broadcast(payload: BenchPayload | { marker: string; seq: number }): void;
  readonly subscribers: number;
}

/**
 * Runs a server under test in this (child) process on 127.0.0.1 and a free port, and obeys
 * the runner over IPC. The publisher lives here too: a Channel is an in-process broadcast,
 * so publishing is part of the work being measured.
 */
export function serveBenchmark(server: BroadcastServer): void {
  let seq = 0;
  const http = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/events') server.subscribe(req, res);
    else res.writeHead(404).end();
  });

  async function handle(request: ServerRequest): Promise<unknown> {
    switch (request.op) {
      case 'publish':
        return publishAtRate(request.rate, request.durationMs, request.mode, (due) =>
          server.broadcast(createPayload(++seq, due)),
        );
      case 'publish-marker':
        server.broadcast({ marker: request.marker, seq: ++seq });
        return {};
      case 'stats': {
        if (request.gc) await collectGarbage();
        const memory = process.memoryUsage();
        return {
          rssBytes: memory.rss,
          heapUsedBytes: memory.heapUsed,
          subscribers: server.subscribers,
        } satisfies ServerStats;
      }
    }
  }

  process.on('message', (message: { id: number; request: ServerRequest }) => {
    handle(message.request).then(
      (result) => process.send?.({ id: message.id, ok: true, result }),
      (error: unknown) => process.send?.({ id: message.id, ok: false, error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));

  http.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
    const address = http.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    process.send?.({ ready: true, port } satisfies ServerReady);
  });
}

async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the server with --expose-gc to measure memory');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
