/**
 * The peer every SSE library is measured against: what a developer writes by hand with
 * node:http — a Set of responses and `res.write` to each one per event.
 */
import type { ServerResponse } from 'node:http';
import { serveBenchmark } from '../harness.js';

const clients = new Set<ServerResponse>();

serveBenchmark({
  subscribe(_req, res) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    clients.add(res);
    res.on('close', () => clients.delete(res));
  },
  broadcast(payload) {
    const chunk = `id: ${payload.seq}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const res of clients) res.write(chunk);
  },
  get subscribers() {
    return clients.size;
  },
});
