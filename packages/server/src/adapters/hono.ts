import type { Context } from 'hono';
import type { EventMap } from '../event-message.js';
import type { EventStream } from '../event-stream.js';
import { type SseResponseOptions, sseResponse } from '../sse-response.js';

/**
 * An event-stream Response for a Hono route:
 * `app.get('/events', (c) => sse(c, (stream) => channel.subscribe(stream)))`.
 * Headers set with `c.header()` are kept. Returning from `handler` does not end the stream;
 * a rejection closes it and goes to `options.onError`. The stream closes when the client
 * leaves (the runtime cancels the body or aborts `c.req.raw.signal`).
 */
export function sse<E extends EventMap = Record<string, unknown>>(
  c: Context,
  handler: (stream: EventStream<E>) => void | Promise<void>,
  options?: SseResponseOptions,
): Response {
  const response = sseResponse<E>(c.req.raw, handler, options);
  // Through the context, so headers set with c.header() (or by middleware) join ours.
  return c.newResponse(response.body, response);
}
