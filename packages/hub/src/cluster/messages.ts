/**
 * What the primary and its workers say to each other over the cluster's IPC channel. The
 * channel also carries prom-client's metric requests, so every message of ours has a type
 * of its own prefix and is recognised by a guard, never by shape alone.
 */

/** Signals the primary passes on to every worker, which handles each as `serve` does. */
export type ForwardedSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

export type PrimaryMessage =
  /** Act as if this signal had been sent to the worker (stop, interrupt, reload). */
  | { type: 'tidings:signal'; signal: ForwardedSignal }
  /** Report your readiness and load, answered with a `tidings:status`. */
  | { type: 'tidings:status-request'; requestId: number };

export type WorkerMessage =
  /** The worker's hub listens (on the port shared by every worker). */
  | { type: 'tidings:listening'; port: number }
  | {
      type: 'tidings:status';
      requestId: number;
      ready: boolean;
      /** Why not ready, in the words of `/readyz`. */
      reason?: string;
      connections: number;
      rssBytes: number;
    };

const PRIMARY_TYPES = new Set(['tidings:signal', 'tidings:status-request']);
const WORKER_TYPES = new Set(['tidings:listening', 'tidings:status']);

function typeOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null
    ? (message as { type?: unknown }).type
    : undefined;
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return PRIMARY_TYPES.has(typeOf(message) as string);
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return WORKER_TYPES.has(typeOf(message) as string);
}
