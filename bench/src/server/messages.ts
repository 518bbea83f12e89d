import type { PublishMode } from './publish-loop.js';

/** Requests from the benchmark runner to a server under test, over IPC. */
export type ServerRequest =
  /** Publishes `rate` events per second for `durationMs`, in this process. */
  | { op: 'publish'; rate: number; durationMs: number; mode: PublishMode }
  /** Publishes one event whose data carries `marker`. */
  | { op: 'publish-marker'; marker: string }
  /** Memory and subscriber count, after two full garbage collections when `gc` is set. */
  | { op: 'stats'; gc: boolean };

export interface PublishResult {
  published: number;
  elapsedMs: number;
  /** The publisher's worst tick delay: how long the event loop kept it from running. */
  maxLagMs: number;
}

export interface ServerStats {
  rssBytes: number;
  heapUsedBytes: number;
  subscribers: number;
}

/** The first message a server child sends: where it listens. */
export interface ServerReady {
  ready: true;
  port: number;
}
