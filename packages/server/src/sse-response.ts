import type { EventMap } from './event-message.js';
import { EventStream } from './event-stream.js';
import type { EventStreamOptions } from './stream-config.js';

export interface SseResponseOptions extends EventStreamOptions {
  /**
   * Called when the handler's promise rejects (the response is already on its way, so the
   * error cannot become a status). The stream is closed either way. Default: `console.error`.
   */
  onError?: (error: unknown, stream: EventStream) => void;
}

function logError(error: unknown): void {
  console.error('sseResponse: the event stream handler failed', error);
}

/**
 * A Fetch `Response` streaming events, for any runtime with web streams (Hono, Bun, Deno,
 * Next.js route handlers, workers): `handler` gets the stream and may keep it as long as it
 * likes; returning from it does not close the stream (call `close()`, or let the client go).
 * A synchronous throw closes the stream and propagates, so the framework can answer 500.
 */
export function sseResponse<E extends EventMap = Record<string, unknown>>(
  request: Request,
  handler: (stream: EventStream<E>) => void | Promise<void>,
  options?: SseResponseOptions,
): Response {
  const stream = EventStream.fromRequest<E>(request, options);
  let result: void | Promise<void>;
  try {
    result = handler(stream);
  } catch (error) {
    stream.close();
    throw error;
  }
  if (result instanceof Promise) {
    result.catch((error: unknown) => {
      stream.close();
      (options?.onError ?? logError)(error, stream as EventStream);
    });
  }
  return stream.response as Response;
}
