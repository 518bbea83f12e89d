import { nowMicros } from './clock.js';

/**
 * What every benchmarked publisher sends as an event's data: a sequence number and the
 * publisher's send time, `{"seq":12,"t":83125913344}`. The load client reads `t` back to
 * measure publish-to-receive latency. Every server under test puts these same bytes in its
 * `data:` line, so none gets an easier payload than another.
 */
export interface BenchPayload {
  seq: number;
  /** Send time in microseconds on the shared monotonic clock ({@link nowMicros}). */
  t: number;
}

/** A payload stamped `sentMicros` (the time it was due to be sent), or now. */
export function createPayload(seq: number, sentMicros = nowMicros()): BenchPayload {
  return { seq, t: sentMicros };
}

const T_KEY = '"t":';
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/**
 * The send time in an event's data, or -1 when there is none (a heartbeat, a marker).
 * Runs for every delivery, so it scans digits instead of calling JSON.parse.
 */
export function readSendTime(data: string): number {
  const at = data.indexOf(T_KEY);
  if (at === -1) return -1;
  let value = 0;
  for (let i = at + T_KEY.length; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) break;
    value = value * 10 + (c - DIGIT_0);
  }
  return value;
}
