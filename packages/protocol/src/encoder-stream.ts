import { encodeEventBytes } from './encode.js';
import type { EventMessage } from './types.js';

/**
 * A TransformStream from events to `text/event-stream` bytes, e.g. the body of a `Response`:
 * `new Response(events.pipeThrough(new EventStreamEncoderStream()), { headers })`.
 * An invalid event (see `encodeEvent`) errors the stream with its TypeError.
 */
export class EventStreamEncoderStream extends TransformStream<EventMessage, Uint8Array> {
  constructor() {
    super({
      transform(message, controller) {
        controller.enqueue(encodeEventBytes(message));
      },
    });
  }
}
