/**
 * The Node floor under the benchmarks: Server-Sent Events on bare `net` sockets, with no
 * node:http and no library. It puts the same bytes on the wire as @tidings/hub and the C floor
 * (bench/c/sse-floor.c): an HTTP/1.1 chunked body, per event `id: urn:uuid:<36 characters>`,
 * `data: <payload>`, a blank line. Each event is framed once and written to every socket,
 * one `socket.write` per subscriber per event, as it comes.
 *
 * - `GET` any path subscribes; `POST` any path publishes the body (Content-Length) and answers
 *   200 with the id (bench:hub's publisher process drives it this way);
 * - over IPC it speaks bench:server's protocol (server/messages.ts): publish at a rate from
 *   this process, publish a marker, report memory after a full GC.
 *
 * Child process: `fork('net-floor.js')`; sends `{ ready, port }` when it listens.
 */
import net from 'node:net';
import { createPayload } from '@tidings/hub/load';
import type { ServerReady, ServerRequest, ServerStats } from '../server/messages.js';
import { publishAtRate } from '../server/publish-loop.js';

const SSE_HEAD = Buffer.from(
  'HTTP/1.1 200 OK\r\n' +
    'Content-Type: text/event-stream; charset=utf-8\r\n' +
    'Cache-Control: no-cache, no-transform\r\n' +
    'X-Accel-Buffering: no\r\n' +
    'Connection: keep-alive\r\n' +
    'Transfer-Encoding: chunked\r\n' +
    '\r\n',
  'latin1',
);
const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 8192;
const MAX_BODY = 65536;
/** A subscriber holding more than this unsent is dropped, as the C floor drops it. */
const MAX_BACKLOG = 1024 * 1024;

const subscribers = new Set<net.Socket>();
let seq = 0;

function eventId(n: number): string {
  return `urn:uuid:00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Frames one event as a chunk, once, and writes it to every subscriber. */
function publish(data: string): string {
  const id = eventId(++seq);
  const block = Buffer.from(`id: ${id}\ndata: ${data}\n\n`, 'utf8');
  const framed = Buffer.concat([
    Buffer.from(`${block.length.toString(16)}\r\n`, 'latin1'),
    block,
    Buffer.from('\r\n', 'latin1'),
  ]);
  for (const socket of subscribers) {
    if (socket.writableLength > MAX_BACKLOG) socket.destroy();
    else socket.write(framed);
  }
  return id;
}

/** Handles every complete request in `pending`; returns what is left, or undefined to drop. */
function handleRequests(socket: net.Socket, pending: Buffer): Buffer | undefined {
  for (;;) {
    const headEnd = pending.indexOf(HEAD_END);
    if (headEnd === -1) return pending.length > MAX_HEAD ? undefined : pending;
    const head = pending.subarray(0, headEnd).toString('latin1');
    if (head.startsWith('GET ')) {
      socket.write(SSE_HEAD);
      subscribers.add(socket);
      return Buffer.alloc(0);
    }
    if (!head.startsWith('POST ')) return undefined;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const bodyLength = length === null ? 0 : Number(length[1]);
    if (bodyLength > MAX_BODY) return undefined;
    const bodyStart = headEnd + HEAD_END.length;
    if (pending.length < bodyStart + bodyLength) return pending;
    const id = publish(pending.subarray(bodyStart, bodyStart + bodyLength).toString('utf8'));
    socket.write(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${id.length}\r\n\r\n${id}`,
    );
    pending = pending.subarray(bodyStart + bodyLength);
  }
}

const server = net.createServer({ noDelay: true }, (socket) => {
  let pending: Buffer | undefined = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    // Nothing a subscriber sends after its request matters.
    if (pending === undefined || subscribers.has(socket)) return;
    pending = handleRequests(socket, Buffer.concat([pending, chunk]));
    if (pending === undefined) socket.destroy();
  });
  socket.on('error', () => {});
  socket.on('close', () => subscribers.delete(socket));
});

async function handle(request: ServerRequest): Promise<unknown> {
  switch (request.op) {
    case 'publish':
      return publishAtRate(request.rate, request.durationMs, request.mode, (due) => {
        publish(JSON.stringify(createPayload(seq + 1, due)));
      });
    case 'publish-marker':
      publish(JSON.stringify({ marker: request.marker, seq: seq + 1 }));
      return {};
    case 'stats': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (request.gc) {
        if (gc === undefined) throw new Error('run the floor with --expose-gc to measure memory');
        for (let i = 0; i < 3; i++) {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      const memory = process.memoryUsage();
      return {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        subscribers: subscribers.size,
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

server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = server.address() as net.AddressInfo;
  process.send?.({ ready: true, port: address.port } satisfies ServerReady);
});
