import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { EventStream } from '@tidings/server';
import { type ClockEvents, type ClockOptions, runClock } from './clock.js';

const page = readFileSync(new URL('../public/index.html', import.meta.url));

/**
 * The clock example's HTTP server: the page at `/`, the event stream at `/clock`.
 * Not listening yet: call `listen()`.
 */
export function createClockServer(options: ClockOptions = {}): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end(`${req.method} is not supported here; use GET\n`);
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    } else if (path === '/clock') {
      // The original sent `Cache-Control: no-store`; the stream's other headers are the defaults.
      const stream = EventStream.fromNode<ClockEvents>(req, res, {
        headers: { 'cache-control': 'no-store' },
      });
      runClock(stream, options);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`Nothing at ${path}: the page is at / and the event stream at /clock\n`);
    }
  });
}
