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
  const collector = new EventCollector();
  const reader = (
    stream.response as Response
  ).body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        collector.feed(value);
      }
    } catch {
      // cancelled
    }
    collector.end();
  })();
  return { stream, collector, leave: () => reader.cancel() };
}
