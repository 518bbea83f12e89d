import { randomInt } from 'node:crypto';
import type { EventStream } from '@tidings/server';

/** The events of the clock stream: `ping` carries the time; plain messages carry text. */
export type ClockEvents = {
  ping: { time: string };
  message: string;
};

export interface ClockOptions {
  /** Time between two pings. Default 1000 ms, as in the original loop's `sleep(1)`. */
  tickMs?: number;
  /** An integer from `min` to `max`, both included. Default: `crypto.randomInt`. */
  randomInt?: (min: number, max: number) => number;
  /** The clock read for each ping. Default `new Date()`. */
  now?: () => Date;
}

/**
 * The loop of the classic PHP Server-Sent Events example, on an EventStream:
 *
 *   every second, send a "ping" event with `{"time": <ISO-8601>}`;
 *   after a random 1–10 pings, send a plain message naming the time;
 *   stop when the client goes away.
 *
 * PHP has to poll `connection_aborted()` between sleeps; here the stream says when the client
 * left, and the timer is cleared at that moment.
 */
export function runClock(stream: EventStream<ClockEvents>, options: ClockOptions = {}): void {
  const tickMs = options.tickMs ?? 1000;
  const random = options.randomInt ?? ((min: number, max: number) => randomInt(min, max + 1));
  const now = options.now ?? (() => new Date());

  let counter = random(1, 10);
  const tick = () => {
    const time = now().toISOString();
    stream.send({ event: 'ping', data: { time } });
    counter--;
    if (counter === 0) {
      stream.send({ data: `This is a message at time ${time}` });
      counter = random(1, 10);
    }
  };

  tick();
  const timer = setInterval(tick, tickMs);
  stream.onClose(() => clearInterval(timer));
}
