/**
 * better-sse (the most used SSE library for Node) with its own Channel, used as its README
 * shows: `createSession` per request, `channel.register`, `channel.broadcast`. Defaults
 * throughout, except that the event id is our sequence number rather than a random UUID,
 * so every server writes a comparable event.
 */
import { createChannel, createSession } from 'better-sse';
import { serveBenchmark } from '../harness.js';

const channel = createChannel();

serveBenchmark({
  subscribe(req, res) {
    createSession(req, res).then(
      (session) => channel.register(session),
      () => res.destroy(),
    );
  },
  broadcast(payload) {
    channel.broadcast(payload, 'message', { eventId: String(payload.seq) });
  },
  get subscribers() {
    return channel.sessionCount;
  },
});
