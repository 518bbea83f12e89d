import { encodeEventBytes } from '@tidings/protocol';
import type { EventStream } from './event-stream.js';

export interface EventStreamOptions {
  /** Response status. Default 200 (EventSource fails the connection on any other). */
  status?: number;
  /** Extra response headers; they override the defaults, whatever their case. */
  headers?: Record<string, string>;
  /** Initial `retry:` (the client's reconnection delay, ms), written with the headers. */
  retry?: number;
  /**
   * Interval of keep-alive comments, in ms, or `false` for none. Default 15 000 ("Authors are
   * also cautioned that HTTP chunking can have unexpected negative effects on the reliability
   * of this protocol ... legacy proxy servers are known to, in certain cases, drop HTTP
   * connections after a short timeout. To protect against such proxy servers, authors can
   * include a comment line ... every 15 seconds or so."). Driven by one shared timer.
   */
  heartbeatMs?: number | false;
  /**
   * Query parameter read for the last event id when the `Last-Event-ID` header is absent, or
   * `false` to ignore the query. Default `'lastEventId'`.
   */
  lastEventIdParam?: string | false;
  /** Turns non-string `data` into text. Default `JSON.stringify`. */
  serialize?: (data: unknown) => string;
  /**
   * Most bytes held for a client that does not read fast enough (queued in the stream plus
   * buffered in the transport). Default {@link DEFAULT_MAX_QUEUE_BYTES} (1 MiB).
   */
  maxQueueBytes?: number;
  /**
   * What happens when a write would go over `maxQueueBytes`. `'close'` (the default) drops
   * the connection at once: the client reconnects with `Last-Event-ID` and, with a Channel,
   * replays what it missed from history. A function is called instead, every time, and the
   * event that did not fit is dropped (for feeds where only the latest value matters).
   */
  onSlowConsumer?: 'close' | ((stream: EventStream) => void);
  /**
   * Compress with brotli or gzip, flushed after every write, when the request's
   * `Accept-Encoding` allows it. Default false. Needs node:zlib (Node 20.16+, Bun, Deno);
   * elsewhere the response goes uncompressed.
   */
  compression?: boolean;
}

/** Default {@link EventStreamOptions.heartbeatMs}. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Default {@link EventStreamOptions.maxQueueBytes}: 1 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 1024 * 1024;
/** See {@link StreamConfig.highWaterMark}: large bursts go out in large writes, not all at once. */
const HIGH_WATER_MARK = 64 * 1024;
/** Default {@link EventStreamOptions.lastEventIdParam}. */
export const DEFAULT_LAST_EVENT_ID_PARAM = 'lastEventId';

/** Options validated and prepared once, shared by every stream opened with the same object. */
export interface StreamConfig {
  readonly status: number;
  readonly headers: Record<string, string> | undefined;
  /** The initial `retry:` block, encoded. */
  readonly retryChunk: Uint8Array | undefined;
  /** 0 when off. */
  readonly heartbeatMs: number;
  readonly lastEventIdParam: string | undefined;
  readonly serialize: (data: unknown) => string;
  readonly maxQueueBytes: number;
  /**
   * Queued bytes at which a stream writes at once instead of at the end of the turn and
   * `send()` starts answering "wait", and the size of a Fetch body's buffer: 64 KiB, or a
   * quarter of `maxQueueBytes` if that is smaller, so that a producer that waits when told to
   * stays under the bound (queue and transport buffer together) with events of up to a quarter
   * of it.
   */
  readonly highWaterMark: number;
  readonly onSlowConsumer: 'close' | ((stream: EventStream) => void);
  readonly compression: boolean;
}

const configs = new WeakMap<EventStreamOptions, StreamConfig>();
const defaultConfig = prepare({});

/**
 * The validated form of `options`. The result is cached per options object, so streams opened
 * with one shared object share one config (a stream keeps a single reference to it).
 *
 * @throws TypeError naming the option when a value is out of range.
 */
export function resolveConfig(options: EventStreamOptions | undefined): StreamConfig {
  if (options === undefined) return defaultConfig;
  let config = configs.get(options);
  if (config === undefined) {
    config = prepare(options);
    configs.set(options, config);
  }
  return config;
}

function prepare(options: EventStreamOptions): StreamConfig {
  const status = options.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new TypeError(
      `EventStream option "status" must be an HTTP status 200-599, got ${status}`,
    );
  }
  const heartbeat = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  if (
    heartbeat !== false &&
    !(typeof heartbeat === 'number' && heartbeat > 0 && heartbeat < 2 ** 31)
  ) {
    throw new TypeError(
      `EventStream option "heartbeatMs" must be a positive number of milliseconds or false, got ${String(heartbeat)}`,
    );
  }
  const maxQueueBytes = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
  if (!(typeof maxQueueBytes === 'number' && maxQueueBytes > 0)) {
    throw new TypeError(
      `EventStream option "maxQueueBytes" must be a positive number of bytes, got ${String(maxQueueBytes)}`,
    );
  }
  const onSlowConsumer = options.onSlowConsumer ?? 'close';
  if (onSlowConsumer !== 'close' && typeof onSlowConsumer !== 'function') {
    throw new TypeError(
      `EventStream option "onSlowConsumer" must be 'close' or a function, got ${String(onSlowConsumer)}`,
    );
  }
  const param = options.lastEventIdParam ?? DEFAULT_LAST_EVENT_ID_PARAM;
  return {
    status,
    headers: options.headers,
    // encodeEventBytes validates it: a non-integer or negative retry throws here, at once.
    retryChunk:
      options.retry === undefined ? undefined : encodeEventBytes({ retry: options.retry }),
    heartbeatMs: heartbeat === false ? 0 : heartbeat,
    lastEventIdParam: param === false || param === '' ? undefined : param,
    serialize: options.serialize ?? JSON.stringify,
    maxQueueBytes,
    highWaterMark: Math.max(1, Math.min(HIGH_WATER_MARK, Math.floor(maxQueueBytes / 4))),
    onSlowConsumer,
    compression: options.compression === true,
  };
}
