import { encodeEventBytes } from '@tidings/protocol';

/**
 * A Mercure update as a publisher sends it, after validation: the hub never re-checks
 * these fields downstream, so everything that reaches a broker is safe to put on the wire.
 */
export interface Update {
  /** The first is the canonical topic, the others alternates; a subscriber matching any receives it. */
  readonly topics: readonly string[];
  /** The `data` of the SSE event; `''` is sent as one empty `data:` line so clients still dispatch it. */
  readonly data: string;
  /** Private updates reach only subscribers whose `mercure.subscribe` claim matches one topic. */
  readonly private: boolean;
  /** The SSE `id`. Never starts with `#`; never contains CR, LF or NUL. */
  readonly id: string;
  /** The SSE `event` field (event type). Never contains CR, LF or NUL. */
  readonly type?: string | undefined;
  /** The SSE `retry` field, in milliseconds. */
  readonly retry?: number | undefined;
  /**
   * The trace context of the broker append that kept the update (a propagation carrier:
   * W3C `traceparent`, `tracestate`), set only while tracing records: a node that fans the
   * update out from a shared log continues the publisher's trace. Never sent to subscribers.
   */
  readonly trace?: Readonly<Record<string, string>> | undefined;
}

/**
 * An update as a broker hands it back: accepted, ordered and encoded once.
 * The same `chunk` is written to every subscriber and kept in history for replay.
 */
export interface StoredUpdate extends Update {
  /** The life of the log the update was kept in (see `LogPosition` in `broker/broker.ts`). */
  readonly epoch: string;
  /**
   * Position in the broker's total order within `epoch`: strictly increasing across
   * everything the broker accepts (across nodes for a shared broker). Replay and live
   * delivery are joined on it so a reconnecting subscriber gets neither a gap nor a duplicate.
   */
  readonly sequence: number;
  /** The event in `text/event-stream` encoding, UTF-8. */
  readonly chunk: Uint8Array;
  /**
   * When the hub accepted the update, in milliseconds since the epoch with sub-millisecond
   * precision (`performance.timeOrigin + performance.now()`): the start of the
   * publish-to-write latency measurement.
   */
  readonly acceptedAt: number;
}

/** Encodes an update as one SSE event block. Data is always present so clients dispatch it. */
export function encodeUpdate(update: Update): Uint8Array {
  return encodeEventBytes({
    id: update.id,
    event: update.type,
    retry: update.retry,
    data: update.data,
  });
}

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
