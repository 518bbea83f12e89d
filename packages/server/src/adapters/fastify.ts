import type { FastifyPluginCallback, FastifyReply } from 'fastify';
import type { EventMap } from '../event-message.js';
import { EventStream } from '../event-stream.js';
import type { EventStreamOptions } from '../stream-config.js';

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Turns the reply into an event stream (added by the plugin of @tidings/server/fastify).
     * Headers set with `reply.header()` are kept; the reply is hijacked, so Fastify's
     * serialization and `onSend` hooks do not run for it. Options add to the plugin's.
     */
    sse<E extends EventMap = Record<string, unknown>>(options?: EventStreamOptions): EventStream<E>;
  }
}

function merge(
  defaults: EventStreamOptions,
  options: EventStreamOptions | undefined,
): EventStreamOptions {
  if (options === undefined) return defaults;
  return { ...defaults, ...options, headers: { ...defaults.headers, ...options.headers } };
}

/**
 * The Fastify plugin: `app.register(sse, { heartbeatMs: 10_000 })`, then in a route
 * `const stream = reply.sse()`. Registered without encapsulation, so `reply.sse` exists in
 * every route of the instance (with HTTP/1.1 and `http2: true` alike).
 */
export const sse: FastifyPluginCallback<EventStreamOptions> = (fastify, defaults, done) => {
  fastify.decorateReply('sse', function (this: FastifyReply, options?: EventStreamOptions) {
    // Fastify keeps its headers until it sends the reply itself; a hijacked reply would lose them.
    for (const [name, value] of Object.entries(this.getHeaders())) {
      if (value !== undefined) this.raw.setHeader(name, value);
    }
    const stream = EventStream.fromNode(this.request.raw, this.raw, merge(defaults, options));
    this.hijack();
    return stream;
  });
  done();
};

// What fastify-plugin sets: decorate the instance itself, not an encapsulated child.
Object.assign(sse, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@tidings/server/fastify',
});

export default sse;
