/**
 * A child process holding idle event streams, to measure what an idle connection costs:
 * - `net`: a bare net.Socket that answers the request head and then only holds the socket;
 * - `http`: node:http with the response head written and the response kept open;
 * - `tidings`: an @tidings/server EventStream on node:http, as an application opens one;
 * - `http-detached`: node:http until the head is written, then node:http's per-connection
 *   objects let go as node:http itself lets go of them on an Upgrade: the socket detached from
 *   the response, node:http's socket listeners removed, its parser freed (`_http_common`'s
 *   freeParser, an internal). What remains is the bound for any subscriber path that lets
 *   node:http read the request and then takes the socket over.
 * It reports its RSS and heap on request (after a full GC) over IPC.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { EventStream } from '@tidings/server';

const mode = process.argv[2];
const open = new Set<unknown>();
const HEAD =
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n:\n';
// node:http's own listeners on a connection's socket (lib/_http_server.js).
const NODE_HTTP_SOCKET_EVENTS = [
  'data',
  'end',
  'close',
  'drain',
  'error',
  'timeout',
  'resume',
  'pause',
];

function detach(req: IncomingMessage, res: ServerResponse): void {
  const socket = res.socket as net.Socket & { parser?: unknown };
  const { freeParser } = createRequire(import.meta.url)('_http_common') as {
    freeParser(parser: unknown, req: IncomingMessage, socket: net.Socket): void;
  };
  res.detachSocket(socket);
  for (const event of NODE_HTTP_SOCKET_EVENTS) socket.removeAllListeners(event);
  freeParser(socket.parser, req, socket);
  socket.on('error', () => {});
  open.add(socket);
  socket.on('close', () => open.delete(socket));
}

const server =
  mode === 'net'
    ? net.createServer((socket) => {
        socket.once('data', () => {
          socket.write(HEAD);
          open.add(socket);
        });
        socket.on('error', () => {});
        socket.on('close', () => open.delete(socket));
      })
    : http.createServer((req, res) => {
        if (mode === 'tidings') {
          const stream = EventStream.fromNode(req, res);
          open.add(stream);
          stream.onClose(() => open.delete(stream));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(':\n');
        // After the head has left (the response corks the socket until the next tick).
        if (mode === 'http-detached') setImmediate(detach, req, res);
        else {
          open.add(res);
          req.on('close', () => open.delete(res));
        }
      });

server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.send?.({ port: address.port });
});

process.on('message', (message) => {
  if (message !== 'measure') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  setTimeout(() => {
    gc?.();
    const usage = process.memoryUsage();
    process.send?.({ rss: usage.rss, heap: usage.heapUsed, open: open.size });
  }, 500);
});
