import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { EventMap } from '../event-message.js';
import { EventStream } from '../event-stream.js';
import type { EventStreamOptions } from '../stream-config.js';

export type ExpressSseHandler<E extends EventMap> = (
  stream: EventStream<E>,
  req: Request,
  res: Response,
) => void | Promise<void>;

/**
 * An event stream on an Express response. Headers set earlier on `res` (CORS, say) are kept;
 * the `compression` middleware is flushed after every write, so it cannot hold events back.
 */
export function eventStream<E extends EventMap = Record<string, unknown>>(
  req: Request,
  res: Response,
  options?: EventStreamOptions,
): EventStream<E> {
  return EventStream.fromNode<E>(req, res, options);
}

/**
 * A route handler that opens an event stream and hands it to `handler`:
 * `app.get('/events', sse((stream) => channel.subscribe(stream)))`. Returning from `handler`
 * does not end the stream. If `handler` throws or rejects, the stream is closed and the error
 * goes to `next()` (Express then logs it; the response is already under way).
 */
export function sse<E extends EventMap = Record<string, unknown>>(
  handler: ExpressSseHandler<E>,
  options?: EventStreamOptions,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let stream: EventStream<E>;
    try {
      stream = EventStream.fromNode<E>(req, res, options);
    } catch (error) {
      next(error);
      return;
    }
    let result: void | Promise<void>;
    try {
      result = handler(stream, req, res);
    } catch (error) {
      stream.close();
      next(error);
      return;
    }
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        stream.close();
        next(error);
      });
    }
  };
}
