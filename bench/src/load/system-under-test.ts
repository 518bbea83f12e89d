import type { SseTarget } from '@tidings/hub/load';

/** What the benchmark phases need from a server being measured, whatever it is. */
export interface SystemUnderTest {
  readonly name: string;
  /** Where subscribers connect. */
  readonly target: SseTarget;
  /** Publishes `rate` events per second for `durationMs`; resolves when done. */
  publish(rate: number, durationMs: number): Promise<{ published: number; elapsedMs: number }>;
  /** Publishes one event whose data contains `marker`; resolves when the server accepted it. */
  publishMarker(marker: string): Promise<void>;
  /** Resident memory of the server, in bytes (after a full GC where the server allows one). */
  rssBytes(): Promise<number>;
  /** Stops the server and everything it started. */
  stop(): Promise<void>;
}

export type StartSystem = () => Promise<SystemUnderTest>;
