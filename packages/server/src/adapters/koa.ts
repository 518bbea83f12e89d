import type { Context, Middleware } from 'koa';
import type { EventMap, SendOptions } from '../event-message.js';
import { EventStream } from '../event-stream.js';
import type { EventStreamOptions } from '../stream-config.js';

export interface KoaSseOptions extends EventStreamOptions {
  /**
   * Most streams open at once through this middleware; beyond it, requests get 503 with
   * `Retry-After`. Default {@link DEFAULT_MAX_CLIENTS}.
   */
  maxClients?: number;
  /** Interval of keep-alive comments in ms, or `false`: another name for `heartbeatMs`. */
  pingInterval?: number | false;
  /** Seconds sent in `Retry-After` with a 503. Default 5. */
  retryAfter?: number;
  /** Event type of the closing event `sendEnd()` sends. Default `'end'`. */
  endEvent?: string;
  /** Which requests become event streams; the others pass to `next()`. Default: all. */
  match?: (ctx: Context) => boolean;
}

/** An EventStream with the closing call of the Koa middleware. */
export interface KoaEventStream<E extends EventMap = Record<string, unknown>>
  extends EventStream<E> {
  /**
   * Sends the closing event, then ends the response: by default an event of type `endEvent`
   * with empty data; a message without `event` gets that type too.
   */
  sendEnd(message?: SendOptions<E>): void;
}

declare module 'koa' {
  interface DefaultContext {
    /** The event stream of this request, set by the `sse()` middleware of @tidings/server/koa. */
    sse?: KoaEventStream;
  }
}

export const DEFAULT_MAX_CLIENTS = 10_000;

/**
 * Koa middleware that turns the request into an event stream at `ctx.sse`, then calls
 * `next()`: downstream middleware sends with `ctx.sse.send({ data })` (objects as JSON) and
 * ends with `ctx.sse.sendEnd()`. The response belongs to the stream (`ctx.respond = false`),
 * so returning from the middleware does not end it; a client leaving does.
 */
export function sse(options: KoaSseOptions = {}): Middleware {
  const {
    maxClients = DEFAULT_MAX_CLIENTS,
    pingInterval,
    retryAfter = 5,
    endEvent = 'end',
    match,
    ...rest
  } = options;
  if (!(maxClients >= 0)) {
    throw new TypeError(`sse option "maxClients" must be a non-negative number, got ${maxClients}`);
  }
  if (!(Number.isInteger(retryAfter) && retryAfter >= 0)) {
    throw new TypeError(`sse option "retryAfter" must be whole seconds, got ${retryAfter}`);
  }
  // One options object for all streams of this middleware: they share its validated form.
  const streamOptions: EventStreamOptions =
    pingInterval === undefined ? rest : { ...rest, heartbeatMs: pingInterval };
  let clients = 0;
  const release = (): void => {
    clients--;
  };
  function sendEnd(this: KoaEventStream, message: SendOptions = {}): void {
    this.send(message.event === undefined ? { ...message, event: endEvent } : message);
    this.close();
  }

  return async (ctx, next) => {
    if (match !== undefined && !match(ctx)) return next();
    if (clients >= maxClients) {
      ctx.status = 503;
      ctx.set('Retry-After', String(retryAfter));
      ctx.body = `Too many event-stream clients (maxClients ${maxClients}); retry in ${retryAfter} s`;
      return;
    }
    const stream = EventStream.fromNode(ctx.req, ctx.res, streamOptions) as KoaEventStream;
    // Koa must neither write nor end this response when the middleware chain returns.
    ctx.respond = false;
    if (stream.closed) return;
    clients++;
    stream.onClose(release);
    stream.sendEnd = sendEnd;
    ctx.sse = stream;
    try {
      await next();
    } catch (error) {
      stream.close();
      throw error;
    }
  };
}
