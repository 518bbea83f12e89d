import type { EventMessage } from '@tidings/protocol';

/** Event names to the type of their `data`: `{ token: string; done: { total: number } }`. */
export type EventMap = Record<string, unknown>;

/** One event to send. `data` that is not a string goes through the stream's `serialize`. */
export interface SendOptions<
  E extends EventMap = Record<string, unknown>,
  K extends keyof E & string = keyof E & string,
> {
  /** The event type; the client's default is `message`. Must not contain CR, LF or NUL. */
  event?: K;
  /** The payload: a string is sent as is (one `data:` line per line), anything else serialized. */
  data?: E[K];
  /** The event id, echoed by the client as `Last-Event-ID` on reconnection. No CR, LF or NUL. */
  id?: string;
  /** The client's reconnection delay, in milliseconds. */
  retry?: number;
}

/**
 * The wire form of an event. An event that has a type but no data is sent with empty data:
 * the spec drops an event whose data buffer is empty ("If the data buffer is an empty string,
 * set the data buffer and the event type buffer to the empty string and return"), and a
 * `send({ event: 'done' })` is meant to be seen.
 *
 * @throws TypeError when `serialize` does not return a string (`JSON.stringify(undefined)`,
 *   a function, a symbol).
 */
export function toEventMessage(
  message: SendOptions<EventMap, string>,
  serialize: (data: unknown) => string,
): EventMessage {
  const { data, event } = message;
  let text: string | undefined;
  if (typeof data === 'string') text = data;
  else if (data !== undefined) {
    text = serialize(data);
    if (typeof text !== 'string') {
      throw new TypeError(
        `Event data of type ${typeof data} could not be serialized (serialize returned ${typeof text}); send a string or a JSON-serializable value`,
      );
    }
  } else if (event !== undefined) text = '';
  return { data: text, event, id: message.id, retry: message.retry };
}
