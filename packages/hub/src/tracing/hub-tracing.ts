/**
 * Traces of the publish path, through `@opentelemetry/api` alone: `mercure publish` (the
 * HTTP request) -> `broker append` (handing the update to the log) -> `fan-out` (this node
 * delivering it from its broker feed), each carrying the update's id.
 *
 * The API does nothing until an SDK registers a tracer provider (`tidings serve` does when
 * the OTEL_* variables ask for it, `otel-sdk.ts`; an application embedding the hub registers
 * its own): every span is then a shared non-recording one and no attribute is built.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  type Context,
  context,
  INVALID_TRACEID,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { BrokerUnavailableError } from '../broker/broker.js';
import { TopicSelectorError } from '../topic-selector.js';
import type { StoredUpdate } from '../update.js';

/** The attribute naming the update on every span (the SSE `id` subscribers see). */
export const UPDATE_ID_ATTRIBUTE = 'tidings.update.id';
export const TOPIC_COUNT_ATTRIBUTE = 'tidings.update.topics';
export const DELIVERED_ATTRIBUTE = 'tidings.fanout.delivered';

/**
 * Updates appended here whose fan-out has not yet run: long enough for a feed that lags
 * the acknowledgement, small enough that updates this node never fans out (its broker
 * failed after keeping them) cannot grow it.
 */
const MAX_PENDING = 4096;

const tracer = trace.getTracer('@tidings/hub');

/** The span of one publish request and the context its children start from. */
export interface PublishTrace {
  readonly span: Span;
  readonly context: Context;
}

export class HubTracing {
  /**
   * The context of each `broker append` whose update this node has not fanned out yet,
   * by update id. The fan-out runs on the broker's feed (for a shared broker it may
   * run on every node, and here after the acknowledgement): the id is what joins them.
   */
  readonly #pending = new Map<string, Context>();

  /**
   * Starts the span of a publish request, continuing the trace the publisher sent
   * (W3C `traceparent`, with whatever propagator the SDK registered).
   */
  startPublish(headers: IncomingHttpHeaders): PublishTrace {
    const parent = propagation.extract(ROOT_CONTEXT, headers);
    const span = tracer.startSpan(
      'mercure publish',
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST' } },
      parent,
    );
    // No provider: the span is a no-op with no context, and a context copied for it would
    // carry nothing its children could use.
    if (!hasContext(span)) return { span, context: parent };
    return { span, context: trace.setSpan(parent, span) };
  }

  /** Ends a publish request's span: with the update's id, or with why it was refused. */
  endPublish(publish: PublishTrace, outcome: { stored: StoredUpdate } | { error: unknown }): void {
    const { span } = publish;
    if (span.isRecording()) {
      if ('stored' in outcome) {
        span.setAttribute(UPDATE_ID_ATTRIBUTE, outcome.stored.id);
        span.setAttribute(TOPIC_COUNT_ATTRIBUTE, outcome.stored.topics.length);
        span.setAttribute('http.response.status_code', 200);
      } else {
        const status = statusOf(outcome.error);
        span.setAttribute('http.response.status_code', status);
        // A refusal (4xx) is the publisher's mistake, not the hub's: the span is not an
        // error then, as the HTTP conventions for server spans say.
        if (status >= 500) failed(span, outcome.error);
      }
    }
    span.end();
  }

  /**
   * Starts the span of handing an update to the broker, as a child of `parent` (the publish
   * request, or whatever span is active around `Hub.publish`), and keeps its context for
   * the fan-out of that update.
   */
  startAppend(id: string, topicCount: number, parent: Context = context.active()): Span {
    const span = tracer.startSpan('broker append', { kind: SpanKind.PRODUCER }, parent);
    // No provider (or nothing sampled upstream): nothing to join, the map stays empty.
    if (!hasContext(span)) return span;
    if (span.isRecording()) {
      span.setAttribute(UPDATE_ID_ATTRIBUTE, id);
      span.setAttribute(TOPIC_COUNT_ATTRIBUTE, topicCount);
    }
    const pending = this.#pending;
    if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value!);
    pending.set(id, trace.setSpan(parent, span));
    return span;
  }

  /**
   * The context of a recording `broker append` span as a propagation carrier, to keep with
   * the update in a shared log (`Update.trace`); undefined when nothing records.
   */
  carrierOf(span: Span): Record<string, string> | undefined {
    if (!span.isRecording()) return undefined;
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
    return Object.keys(carrier).length === 0 ? undefined : carrier;
  }

  /** Ends the span of a broker append; a failed one forgets the update (nothing to fan out). */
  endAppend(span: Span, id: string, error?: unknown): void {
    if (error !== undefined) {
      this.#pending.delete(id);
      failed(span, error);
    }
    span.end();
  }

  /**
   * Starts the span of fanning one update out on this node: a child of its `broker append`,
   * kept here when the append ran here, read from the update's `trace` when it ran on another
   * node of a shared log; a trace of its own when neither is known.
   */
  startFanOut(update: StoredUpdate): Span {
    const pending = this.#pending;
    let parent: Context = ROOT_CONTEXT;
    const appended = pending.size === 0 ? undefined : pending.get(update.id);
    if (appended !== undefined) {
      pending.delete(update.id);
      parent = appended;
    } else if (update.trace !== undefined) {
      parent = propagation.extract(ROOT_CONTEXT, update.trace);
    }
    const span = tracer.startSpan('fan-out', { kind: SpanKind.CONSUMER }, parent);
    if (span.isRecording()) {
      span.setAttribute(UPDATE_ID_ATTRIBUTE, update.id);
      span.setAttribute(TOPIC_COUNT_ATTRIBUTE, update.topics.length);
    }
    return span;
  }

  /** Ends a fan-out span with how many subscribers got the update written to them. */
  endFanOut(span: Span, delivered: number, error?: unknown): void {
    if (span.isRecording()) {
      span.setAttribute(DELIVERED_ATTRIBUTE, delivered);
      if (error !== undefined) failed(span, error);
    }
    span.end();
  }
}

/**
 * Whether a span carries a trace its children can join: not the no-op of an API with no
 * provider. (The API's `isSpanContextValid` tests both ids with regular expressions, several
 * times the cost of all the rest here; the SDK and the propagators only make valid ids.)
 */
function hasContext(span: Span): boolean {
  return span.spanContext().traceId !== INVALID_TRACEID;
}

function failed(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** The status a publish request is answered with for an error (as the router answers it). */
function statusOf(error: unknown): number {
  if (error instanceof BrokerUnavailableError) return 503;
  if (error instanceof TopicSelectorError) return 400;
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : 500;
}
