import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { CliIo } from '../cli/io.js';
import type { Hub } from '../hub.js';
import {
  type ForwardedSignal,
  isPrimaryMessage,
  type PrimaryMessage,
  type WorkerMessage,
} from './messages.js';

/** A worker's side of the link to the primary of `tidings serve --workers`. */
export interface WorkerLink {
  /** The worker's number in the cluster (restarted workers get new ones), for its logs. */
  readonly id: number;
  /** The process's I/O, with the signals the primary forwards delivered as real ones. */
  readonly io: CliIo;
  /** Tells the primary the hub listens, and answers its questions about the hub from now on. */
  started(hub: Hub, port: number): void;
}

/** `undefined` unless this process is a worker forked by the primary of `--workers`. */
export function workerLink(io: CliIo): WorkerLink | undefined {
  if (!cluster.isWorker || cluster.worker === undefined) return undefined;
  // prom-client answers the primary's metric requests from a listener it adds when an
  // AggregatorRegistry is created: create one now, so that a worker still starting answers
  // (with nothing) instead of leaving the primary's scrape waiting for its timeout.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([]);
  const forwarded = new Map<ForwardedSignal, ((signal: NodeJS.Signals) => void)[]>();
  const early = new Set<ForwardedSignal>();
  let hub: Hub | undefined;
  const send = (message: WorkerMessage) => {
    if (process.connected) process.send?.(message);
  };
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    handle(message);
  });
  const handle = (message: PrimaryMessage) => {
    if (message.type === 'tidings:signal') {
      const listeners = forwarded.get(message.signal) ?? [];
      // A stop asked for while the hub is still starting is acted on once it can be.
      if (listeners.length === 0) early.add(message.signal);
      for (const listener of listeners) listener(message.signal);
      return;
    }
    const { requestId } = message;
    const rssBytes = process.memoryUsage.rss();
    if (hub === undefined) {
      send({
        type: 'tidings:status',
        requestId,
        ready: false,
        reason: 'still starting',
        connections: 0,
        rssBytes,
      });
      return;
    }
    const connections = hub.metrics.connections;
    hub
      .readiness()
      .then((readiness) =>
        send({ type: 'tidings:status', requestId, ...readiness, connections, rssBytes }),
      );
  };
  let ignoringInterrupt = false;
  return {
    id: cluster.worker.id,
    io: {
      ...io,
      onSignal(signal, listener) {
        if (signal === 'SIGINT') {
          // Ctrl-C in a terminal reaches the whole process group; the primary passes it on
          // once, so the worker's own copy must neither stop it twice nor kill it outright.
          if (!ignoringInterrupt) process.on('SIGINT', () => {});
          ignoringInterrupt = true;
        } else {
          // Sent to this worker alone (kill <pid>): handled as a hub of its own would.
          io.onSignal(signal, listener);
        }
        const list = forwarded.get(signal as ForwardedSignal) ?? [];
        list.push(listener);
        forwarded.set(signal as ForwardedSignal, list);
        if (early.delete(signal as ForwardedSignal)) setImmediate(() => listener(signal));
      },
    },
    started(startedHub, port) {
      hub = startedHub;
      AggregatorRegistry.setRegistries([startedHub.metrics.registry]);
      send({ type: 'tidings:listening', port });
    },
  };
}
