/**
 * A child process holding idle event streams in one of two ways, to measure what an idle
 * connection costs before any SSE library is involved:
 * - `net`: a bare net.Socket that answers the request head and then only holds the socket;
 * - `http`: node:http with the response head written and the response kept open.
 * It reports its RSS and heap on request (after a full GC) over IPC.
 */
import http from 'node:http';
import net from 'node:net';

const mode = process.argv[2];
const open = new Set<unknown>();
const HEAD =
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n:\n';

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
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(':\n');
        open.add(res);
        req.on('close', () => open.delete(res));
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
