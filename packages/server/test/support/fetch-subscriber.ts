import { EventStream, type EventStreamOptions } from '@tidings/server';
import { EventCollector } from './sse-client.js';

export interface FetchSubscriber {
  readonly stream: EventStream;
  readonly collector: EventCollector;
  /** Cancels the body, as a runtime does when its client leaves. */
  leave(): Promise<void>;
}

/**
 * An EventStream as a Fetch Response whose body is read as a runtime would read it: a real
 * stream with backpressure and cancellation, without a socket.
 */
export function fetchSubscriber(
  headers: Record<string, string> = {},
  options?: EventStreamOptions,
): FetchSubscriber {
  const stream = EventStream.fromRequest(
    new Request('http://localhost/events', { headers }),
    options,
  );
  const { collector, reader } = collectBody(stream.response?.body as ReadableStream<Uint8Array>);
  return { stream, collector, leave: () => reader.cancel() };
}

/** Reads a Fetch body into a collector until it ends, errors, or the reader is cancelled. */
export function collectBody(body: ReadableStream<Uint8Array>): {
  collector: EventCollector;
  reader: ReadableStreamDefaultReader<Uint8Array>;
} {
  const collector = new EventCollector();
  const reader = body.getReader();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        collector.feed(value);
      }
    } catch {
      // cancelled or errored: the end of this body either way
    }
    collector.end();
  })();
  return { collector, reader };
}
