import { nowMicros } from '@tidings/hub/load';
import type { PublishResult } from './messages.js';

/**
 * How published events reach the server's broadcast call:
 * - `separate`: each event in its own macrotask (`setImmediate`), as events that arrive
 *   from the network (a POST, a message from a broker) do. Nothing the caller does batches
 *   them; whatever coalescing happens is the server's own.
 * - `burst`: all events that came due since the last tick in one synchronous loop, which
 *   lets even `res.write` coalesce through Node's cork-until-nextTick.
 */
export type PublishMode = 'separate' | 'burst';

/**
 * Publishes at a steady rate for a while: every millisecond or so it publishes the events
 * that have come due since the last tick.
 *
 * Each event is stamped with the time it was *due*, not the time the publisher got to it:
 * when a busy server delays the publisher's own ticks, that delay is part of the latency
 * measured (no coordinated omission).
 */
export function publishAtRate(
  rate: number,
  durationMs: number,
  mode: PublishMode,
  publishOne: (dueMicros: number) => void,
): Promise<PublishResult> {
  const total = Math.floor((rate * durationMs) / 1000);
  const intervalUs = 1_000_000 / rate;
  const start = nowMicros();
  let published = 0;
  let lastTick = start;
  let maxLagUs = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = nowMicros();
      maxLagUs = Math.max(maxLagUs, now - lastTick);
      lastTick = now;
      const due = Math.min(total, Math.floor((now - start) / intervalUs));
      while (published < due) {
        // Event n (from 0) comes due when n + 1 intervals have passed.
        const dueMicros = Math.round(start + (published + 1) * intervalUs);
        if (mode === 'burst') publishOne(dueMicros);
        else setImmediate(publishOne, dueMicros);
        published++;
      }
      if (published >= total) {
        // In `separate` mode the last events are still queued; finish after them.
        setImmediate(() =>
          resolve({
            published,
            elapsedMs: (nowMicros() - start) / 1000,
            maxLagMs: maxLagUs / 1000,
          }),
        );
      } else setTimeout(tick, 1);
    };
    tick();
  });
}
