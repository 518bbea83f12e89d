import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { encodeCommentBytes, encodeEventBytes } from '@tidings/protocol';
import { type EventMap, type SendOptions, toEventMessage } from './event-message.js';
import { FetchSink } from './fetch-response.js';
import { flushQueue } from './flush-queue.js';
import { heartbeat } from './heartbeat.js';
import { openHttp2Stream } from './http2-stream.js';
import { readLastEventId } from './last-event-id.js';
import { type NodeRequest, type NodeResponse, openNodeResponse } from './node-response.js';
import { joinChunks } from './shared-batch.js';
import { lingeringSinks, type Sink } from './sink.js';
import { openSocketResponse, type SocketRequest } from './socket-response.js';
import { type EventStreamOptions, resolveConfig, type StreamConfig } from './stream-config.js';

/** Why a stream closed. */
export type CloseReason =
  /** `close()` was called. */
  | 'server'
  /** The client went away: socket closed, HTTP/2 stream reset, Fetch body cancelled. */
  | 'client'
  /** The client read too slowly and the queue went over `maxQueueBytes` (policy `'close'`). */
  | 'slow-consumer'
  /** The transport failed while writing. */
  | 'error';

export interface PipeOptions<E extends EventMap, T> {
  /** Turns an item into an event. Default: the item is the event's `data`. */
  map?: (item: T) => SendOptions<E>;
}

// State bits, one small integer per stream instead of a handful of booleans.
const CLOSED = 1;
/** The transport said "enough": nothing more is written until it drains. */
const WAITING_DRAIN = 2;
/** The stream is in this turn's flush queue. */
const FLUSH_SCHEDULED = 4;
/** Bytes were queued since the last heartbeat sweep, so no keep-alive is needed. */
const WROTE = 8;

// A comment followed by a blank line: intermediaries that pass the stream on event by event
// (at blank lines) forward it too. The blank line dispatches nothing: the data buffer is empty.
const HEARTBEAT_CHUNK = new TextEncoder().encode(':\n\n');
const textEncoder = new TextEncoder();

let openStreams = 0;

const STOP = Symbol('stop');
const noop = (): void => {};

/**
 * A listener's exception must not break the stream's bookkeeping (nor the loop that notified
 * it), so it is rethrown on its own, like an exception from an EventEmitter listener.
 */
function reportListenerError(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

function closeError(reason: CloseReason | undefined): DOMException {
  const why =
    reason === 'client'
      ? 'the client went away'
      : reason === 'slow-consumer'
        ? 'the client read too slowly (maxQueueBytes exceeded)'
        : reason === 'error'
          ? 'the transport failed'
          : 'the server closed it';
  return new DOMException(`Event stream closed: ${why}`, 'AbortError');
}

interface PullIterator<T> {
  next(): Promise<IteratorResult<T>>;
  return?(): unknown;
}

function iterate<T>(source: AsyncIterable<T> | ReadableStream<T>): PullIterator<T> {
  if (typeof (source as ReadableStream<T>).getReader === 'function') {
    const reader = (source as ReadableStream<T>).getReader();
    return {
      next: () => reader.read() as Promise<IteratorResult<T>>,
      return: () => reader.cancel(),
    };
  }
  return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
}

/** Asks a source to stop producing, without waiting for it and without letting it throw. */
function stopSource(iterator: PullIterator<unknown>): void {
  try {
    const result = iterator.return?.();
    if (result instanceof Promise) result.catch(noop);
  } catch {
    // A source that fails while stopping has nothing more to say to this stream.
  }
}

/**
 * One Server-Sent Events response, on node:http, node:http2 (compatibility API or core
 * streams), a bare connection or Fetch. Create it with {@link EventStream.fromNode},
 * {@link EventStream.fromHttp2Stream}, {@link EventStream.fromSocket} or
 * {@link EventStream.fromRequest}: the head goes out at
 * once, with `retry:` when configured.
 *
 * Writes are coalesced: everything sent within one event-loop turn leaves in one write at the
 * end of the turn (or at once past 64 KiB, or a quarter of `maxQueueBytes` if smaller). `send`
 * returns false when the caller should wait (`await drained()`) before sending more; a client
 * that stops reading is dropped once more than `maxQueueBytes` wait for it (see
 * {@link EventStreamOptions.onSlowConsumer}), so memory stays bounded whatever the client does.
 */
export class EventStream<E extends EventMap = Record<string, unknown>> {
  /** The id the client resumes from (`Last-Event-ID` header or query parameter); `''` when none. */
  readonly lastEventId: string;
  readonly #config: StreamConfig;
  #sink: Sink | undefined;
  #response: Response | undefined;
  /** Bytes waiting for the end of the turn or for a drain: nothing while idle. */
  #pending: Uint8Array | Uint8Array[] | undefined;
  #pendingBytes = 0;
  #state = 0;
  #closeReason: CloseReason | undefined;
  // Created on demand: most streams never ask for them.
  #abort: AbortController | undefined;
  #closeListeners: (() => void)[] | undefined;
  #drainWaiters: (() => void)[] | undefined;

  private constructor(config: StreamConfig, lastEventId: string) {
    this.#config = config;
    this.lastEventId = lastEventId;
    openStreams++;
  }

  /**
   * An event stream on a node:http response (HTTP/1.1) or a node:http2 compatibility
   * response. Headers already set with `res.setHeader()` are kept.
   *
   * @throws Error when the response head was already sent; TypeError for invalid options.
   */
  static fromNode<E extends EventMap = Record<string, unknown>>(
    req: NodeRequest,
    res: NodeResponse,
    options?: EventStreamOptions,
  ): EventStream<E> {
    const config = resolveConfig(options);
    const lastEventId = readLastEventId(
      req.headers['last-event-id'],
      req.url,
      config.lastEventIdParam,
    );
    const stream = new EventStream<E>(config, lastEventId);
    stream.#open(() => openNodeResponse(req, res, config, stream));
    return stream;
  }

  /**
   * An event stream on a core node:http2 stream, from `server.on('stream', (stream, headers) => ...)`.
   *
   * @throws Error when the stream has already responded; TypeError for invalid options.
   */
  static fromHttp2Stream<E extends EventMap = Record<string, unknown>>(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    options?: EventStreamOptions,
  ): EventStream<E> {
    const config = resolveConfig(options);
    const lastEventId = readLastEventId(
      headers['last-event-id'],
      headers[':path'],
      config.lastEventIdParam,
    );
    const eventStream = new EventStream<E>(config, lastEventId);
    eventStream.#open(() => openHttp2Stream(stream, headers, config, eventStream));
    return eventStream;
  }

  /**
   * An event stream on a bare HTTP/1.1 connection whose request head you read yourself (a
   * `node:net` server that answers some requests without node:http): writes the response
   * head (the stream's headers, then `headers`) and owns the connection from then on. The
   * body is chunked; when the stream ends, the connection ends with it (an event stream is
   * the last response of its connection), and what the client sends meanwhile is dropped.
   * Costs less per open connection than {@link EventStream.fromNode}: no request, response
   * or HTTP parser is kept.
   *
   * ```ts
   * const stream = EventStream.fromSocket(socket, { method: 'GET', url, headers }, options);
   * ```
   *
   * @throws TypeError for a header that cannot go on the wire, for `compression` (it needs
   *   node:http), or for invalid options.
   */
  static fromSocket<E extends EventMap = Record<string, unknown>>(
    socket: Socket,
    request: SocketRequest,
    options?: EventStreamOptions,
    headers?: Readonly<Record<string, string>>,
  ): EventStream<E> {
    const config = resolveConfig(options);
    const lastEventId = readLastEventId(
      request.headers['last-event-id'],
      request.url,
      config.lastEventIdParam,
    );
    const stream = new EventStream<E>(config, lastEventId);
    stream.#open(() => openSocketResponse(socket, request, config, stream, headers));
    return stream;
  }

  /**
   * An event stream as a Fetch `Response`: return {@link EventStream.response} from the
   * handler. The stream closes when the runtime cancels the body or the request's signal
   * aborts. See also {@link sseResponse}.
   */
  static fromRequest<E extends EventMap = Record<string, unknown>>(
    request: Request,
    options?: EventStreamOptions,
  ): EventStream<E> {
    const config = resolveConfig(options);
    const lastEventId = readLastEventId(
      request.headers.get('last-event-id'),
      request.url,
      config.lastEventIdParam,
    );
    const stream = new EventStream<E>(config, lastEventId);
    stream.#open(() => {
      const sink = new FetchSink(request, config, stream);
      stream.#response = sink.response;
      return sink;
    });
    return stream;
  }

  /** The Response to return, for streams made with {@link EventStream.fromRequest}. */
  get response(): Response | undefined {
    return this.#response;
  }

  /** True once either side closed the stream. Sending then does nothing and returns false. */
  get closed(): boolean {
    return (this.#state & CLOSED) !== 0;
  }

  /** Why the stream closed; undefined while open. */
  get closeReason(): CloseReason | undefined {
    return this.#closeReason;
  }

  /**
   * Aborted when the stream closes, from either side: pass it to the work that feeds the
   * stream (an upstream `fetch`, an LLM call) so that it stops when nobody listens any more.
   */
  get signal(): AbortSignal {
    let abort = this.#abort;
    if (abort === undefined) {
      abort = new AbortController();
      this.#abort = abort;
      if (this.#state & CLOSED) abort.abort(closeError(this.#closeReason));
    }
    return abort.signal;
  }

  /** Bytes queued for this client and not yet taken by the socket. */
  get bufferedBytes(): number {
    return this.#pendingBytes + (this.#sink?.bufferedBytes ?? 0);
  }

  /**
   * Sends one event. Non-string `data` goes through `serialize` (JSON by default); an event
   * with a type and no data is sent with empty data, so that the client dispatches it.
   *
   * @returns true when more may be sent right away; false when the stream is closed or the
   *   client is behind (the event is queued: `await drained()` before sending more).
   * @throws TypeError when `event` or `id` contains CR, LF or NUL (which could forge events),
   *   when `retry` is not a non-negative integer, or when `data` cannot be serialized. Nothing
   *   is sent then.
   */
  send<K extends keyof E & string>(message: SendOptions<E, K>): boolean {
    return this.#enqueue(
      encodeEventBytes(
        toEventMessage(message as SendOptions<EventMap, string>, this.#config.serialize),
      ),
    );
  }

  /**
   * Sends bytes that are already complete `text/event-stream` blocks, as they are: the way a
   * broadcast encodes an event once for every subscriber. Nothing is checked.
   */
  sendEncoded(chunk: string | Uint8Array): boolean {
    return this.#enqueue(typeof chunk === 'string' ? textEncoder.encode(chunk) : chunk);
  }

  /** Sends a comment (ignored by clients): `: text`, one line per line of text. */
  comment(text = ''): boolean {
    return this.#enqueue(encodeCommentBytes(text));
  }

  /** Writes what is queued now instead of at the end of the turn. */
  flush(): void {
    if (this.#state & (CLOSED | WAITING_DRAIN) || this.#pending === undefined) return;
    const chunk = this.#takePending();
    let accepted: boolean;
    try {
      accepted = (this.#sink as Sink).write(chunk);
    } catch {
      this.#terminate('error');
      return;
    }
    if (this.#state & CLOSED) return;
    if (!accepted) this.#state |= WAITING_DRAIN;
    else if (this.#drainWaiters !== undefined) this.#resolveDrainWaiters();
  }

  /** Resolves once everything queued was taken by the socket, or the stream closed. */
  drained(): Promise<void> {
    if (this.#state & CLOSED) return Promise.resolve();
    if (this.#pending === undefined && !(this.#state & WAITING_DRAIN)) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.#drainWaiters === undefined) this.#drainWaiters = [resolve];
      else this.#drainWaiters.push(resolve);
    });
  }

  /**
   * Sends every item of `source` as an event, waiting whenever the client is behind, until
   * the source ends. Resolves early when the stream closes, and then stops the source (its
   * iterator's `return()`, or `cancel()` for a ReadableStream), so an upstream token stream is
   * not read for nobody. Rejects with the source's error, or with `send`'s when an item cannot
   * be sent. The stream stays open afterwards: send a final event, then `close()`.
   */
  async pipe<T>(
    source: AsyncIterable<T> | ReadableStream<T>,
    options: PipeOptions<E, T> = {},
  ): Promise<void> {
    const iterator = iterate(source);
    if (this.#state & CLOSED) {
      stopSource(iterator);
      return;
    }
    const map = options.map ?? ((item: T) => ({ data: item }) as SendOptions<E>);
    let unsubscribe = noop;
    const stopped = new Promise<typeof STOP>((resolve) => {
      unsubscribe = this.onClose(() => resolve(STOP));
    });
    let sourceFinished = false;
    try {
      for (;;) {
        const next = iterator.next();
        // If the stream closes first, the source may still fail later: that is expected.
        next.catch(noop);
        let step: IteratorResult<T> | typeof STOP;
        try {
          step = await Promise.race([next, stopped]);
        } catch (error) {
          sourceFinished = true;
          throw error;
        }
        if (step === STOP) return;
        if (step.done) {
          sourceFinished = true;
          return;
        }
        if (!this.send(map(step.value))) {
          if (this.#state & CLOSED) return;
          await this.drained();
          if (this.#state & CLOSED) return;
        }
      }
    } finally {
      unsubscribe();
      if (!sourceFinished) stopSource(iterator);
    }
  }

  /**
   * Ends the response cleanly after what is queued (a client still reading gets it all; one
   * that stopped reading is cut off after a grace period). Close listeners run at once.
   */
  close(): void {
    if (this.#state & CLOSED) return;
    const sink = this.#sink;
    if (sink !== undefined && this.#pending !== undefined) {
      // Past backpressure, on purpose: the queue is bounded by maxQueueBytes already.
      try {
        sink.write(this.#takePending());
      } catch {
        // The transport is failing; ending it below is all that is left to do.
      }
    }
    this.#finish('server');
    sink?.end();
  }

  /**
   * Calls `listener` once when the stream closes, from either side (on a closed stream: soon,
   * asynchronously). Returns a function that removes the listener.
   */
  onClose(listener: () => void): () => void {
    if (this.#state & CLOSED) {
      queueMicrotask(() => {
        try {
          listener();
        } catch (error) {
          reportListenerError(error);
        }
      });
      return noop;
    }
    if (this.#closeListeners === undefined) this.#closeListeners = [listener];
    else this.#closeListeners.push(listener);
    return () => {
      const listeners = this.#closeListeners;
      const index = listeners?.indexOf(listener) ?? -1;
      if (index !== -1) listeners?.splice(index, 1);
    };
  }

  /** @internal The transport took what it held. */
  onSinkDrain(): void {
    const state = this.#state;
    if (!(state & WAITING_DRAIN) || state & CLOSED) return;
    this.#state = state & ~WAITING_DRAIN;
    if (this.#pending !== undefined) this.flush();
    else if (this.#drainWaiters !== undefined) this.#resolveDrainWaiters();
  }

  /** @internal The transport closed. */
  onSinkClose(): void {
    this.#finish('client');
  }

  /** @internal Called by the shared heartbeat once per interval. */
  onHeartbeat(): void {
    const state = this.#state;
    if (state & WROTE) {
      this.#state = state & ~WROTE;
      return;
    }
    // A client that is behind is still connected; a keep-alive would only add to its queue.
    if (state & (CLOSED | WAITING_DRAIN)) return;
    this.#enqueue(HEARTBEAT_CHUNK);
    // The keep-alive itself does not count as activity: the next sweep sends another.
    this.#state &= ~WROTE;
  }

  /** @internal Called by the shared flush queue at the end of the turn. */
  onFlushTurn(): void {
    this.#state &= ~FLUSH_SCHEDULED;
    this.flush();
  }

  #open(openSink: () => Sink): void {
    let sink: Sink;
    try {
      sink = openSink();
    } catch (error) {
      this.#finish('error');
      throw error;
    }
    if (this.#state & CLOSED) return;
    this.#sink = sink;
    if (sink.gone) {
      this.#finish('client');
      return;
    }
    if (this.#config.heartbeatMs > 0) heartbeat.add(this, this.#config.heartbeatMs);
  }

  #enqueue(chunk: Uint8Array): boolean {
    const state = this.#state;
    if (state & CLOSED) return false;
    const size = chunk.byteLength;
    // Bytes already waiting for this client: queued here, and held by the transport. The
    // transport is asked only when something is queued (rarely more than once per turn).
    let held = this.#pendingBytes;
    if (held > 0 || state & WAITING_DRAIN) held += (this.#sink as Sink).bufferedBytes;
    // The bound is on the backlog: one event larger than maxQueueBytes still goes to a client
    // that has taken everything else.
    if (held > 0 && held + size > this.#config.maxQueueBytes) return this.#overflow();

    const pending = this.#pending;
    if (pending === undefined) this.#pending = chunk;
    else if (Array.isArray(pending)) pending.push(chunk);
    else this.#pending = [pending, chunk];
    this.#pendingBytes += size;

    if (state & WAITING_DRAIN) {
      this.#state = state | WROTE;
      return false;
    }
    if (this.#pendingBytes >= this.#config.highWaterMark) {
      this.#state = state | WROTE;
      this.flush();
      return (this.#state & (CLOSED | WAITING_DRAIN)) === 0;
    }
    if (state & FLUSH_SCHEDULED) {
      this.#state = state | WROTE;
    } else {
      this.#state = state | WROTE | FLUSH_SCHEDULED;
      flushQueue.add(this);
    }
    return true;
  }

  #overflow(): false {
    const policy = this.#config.onSlowConsumer;
    if (policy === 'close') {
      this.#terminate('slow-consumer');
    } else {
      try {
        policy(this as EventStream);
      } catch (error) {
        reportListenerError(error);
      }
    }
    return false;
  }

  /**
   * Everything pending as one chunk: a single event as it is; several joined once per turn for
   * all the streams that queued the same ones (a broadcast's subscribers), not once per stream.
   */
  #takePending(): Uint8Array {
    const pending = this.#pending as Uint8Array | Uint8Array[];
    const total = this.#pendingBytes;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    return Array.isArray(pending) ? joinChunks(pending, total) : pending;
  }

  #resolveDrainWaiters(): void {
    const waiters = this.#drainWaiters as (() => void)[];
    this.#drainWaiters = undefined;
    for (let i = 0; i < waiters.length; i++) (waiters[i] as () => void)();
  }

  /** Closes at once, dropping what is queued (the client is not reading, or the socket failed). */
  #terminate(reason: CloseReason): void {
    const sink = this.#sink;
    this.#finish(reason);
    sink?.destroy();
  }

  /** Marks the stream closed and lets go of everything it holds. Runs once. */
  #finish(reason: CloseReason): void {
    if (this.#state & CLOSED) return;
    this.#state = CLOSED;
    this.#closeReason = reason;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    this.#sink = undefined;
    openStreams--;
    if (this.#config.heartbeatMs > 0) heartbeat.delete(this, this.#config.heartbeatMs);
    if (this.#drainWaiters !== undefined) this.#resolveDrainWaiters();
    this.#abort?.abort(closeError(reason));
    const listeners = this.#closeListeners;
    this.#closeListeners = undefined;
    if (listeners === undefined) return;
    for (let i = 0; i < listeners.length; i++) {
      try {
        (listeners[i] as () => void)();
      } catch (error) {
        reportListenerError(error);
      }
    }
  }
}

/** Counts of what open streams hold, process-wide: for metrics, and for tests that check leaks. */
export interface StreamStats {
  /** EventStreams open. */
  open: number;
  /** Heartbeat timers running: one per distinct `heartbeatMs` in use, none when no stream is open. */
  heartbeatTimers: number;
  /** Streams registered with the heartbeat. */
  heartbeatStreams: number;
  /** Streams waiting for this turn's coalesced write. */
  pendingFlushes: number;
  /** Responses closed by the server whose client has not taken the last bytes yet. */
  lingering: number;
}

export function streamStats(): StreamStats {
  return {
    open: openStreams,
    heartbeatTimers: heartbeat.timers,
    heartbeatStreams: heartbeat.members,
    pendingFlushes: flushQueue.size,
    lingering: lingeringSinks(),
  };
}
