import { readFileSync } from 'node:fs';
import { sse } from '@tidings/server/koa';
import Koa from 'koa';

const page = readFileSync(new URL('../public/index.html', import.meta.url));

export interface DemoOptions {
  /** Streams open at once; the next client gets 503 with Retry-After. Default 5000. */
  maxClients?: number;
  /** Keep-alive comment interval in ms. Default 30 000. */
  pingInterval?: number;
  /** Time between two messages. Default 1000 ms. */
  intervalMs?: number;
  /** Messages per stream before `sendEnd`. Default 10; a client may ask for 1–100 with `?count=`. */
  count?: number;
}

/**
 * The Koa demo: `GET /` is the page, `GET /sse` an event stream that sends a numbered message
 * with the server time every second, then ends with an `end` event. The stream comes from
 * the `sse()` middleware of @tidings/server/koa, which puts it on `ctx.sse`.
 */
export function createApp(options: DemoOptions = {}): Koa {
  const intervalMs = options.intervalMs ?? 1000;
  const defaultCount = options.count ?? 10;
  const app = new Koa();

  app.use(async (ctx, next) => {
    if (ctx.path !== '/') return next();
    ctx.type = 'html';
    ctx.body = page;
  });

  app.use(
    sse({
      maxClients: options.maxClients ?? 5000,
      pingInterval: options.pingInterval ?? 30_000,
      match: (ctx) => ctx.path === '/sse',
    }),
  );

  app.use(async (ctx) => {
    const stream = ctx.sse;
    if (stream === undefined) {
      ctx.status = 404;
      ctx.body = `Nothing at ${ctx.path}: the page is at / and the event stream at /sse\n`;
      return;
    }
    const requested = Number(ctx.query.count ?? defaultCount);
    const count = Number.isInteger(requested)
      ? Math.min(Math.max(requested, 1), 100)
      : defaultCount;

    let sent = 0;
    const timer = setInterval(() => {
      sent++;
      // An object goes out as JSON (koa-sse-stream, the original's library, sent "[object Object]").
      stream.send({ data: { n: sent, of: count, time: new Date().toISOString() } });
      if (sent === count) {
        clearInterval(timer);
        stream.sendEnd({ data: 'That was the last message.' });
      }
    }, intervalMs);
    // The client may leave first; the stream tells us, and the timer goes with it.
    stream.onClose(() => clearInterval(timer));
  });

  return app;
}
