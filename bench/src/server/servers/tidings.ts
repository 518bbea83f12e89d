/**
 * @tidings/server as its README shows it: an EventStream per request, subscribed to one
 * Channel, `channel.publish` per event. Defaults throughout (history on, ids generated,
 * heartbeats on the shared sweep).
 */
import { Channel, EventStream } from '@tidings/server';
import { serveBenchmark } from '../harness.js';

const channel = new Channel();

serveBenchmark({
  subscribe(req, res) {
    channel.subscribe(EventStream.fromNode(req, res));
  },
  broadcast(payload) {
    channel.publish({ data: payload });
  },
  get subscribers() {
    return channel.size;
  },
});
