import type { EventStream } from '@tidings/server';
import type { Broker, LogPosition, ReplayFrom, ReplayPage } from './broker/broker.js';
import type { HubMetrics } from './metrics.js';
import type { Subscriber } from './subscriber.js';

/** Updates read from the broker per page of a replay. */
export const REPLAY_PAGE_SIZE = 512;

/** How often the join point is taken again when the log changed epoch in between. */
const EPOCH_RETRIES = 3;

/** A subscriber's replay, started: the first page and the join point it stops at. */
export interface StartedReplay {
  /** The join point: the replay ends here; updates after it come from the held live feed. */
  readonly upTo: LogPosition;
  readonly first: ReplayPage;
}

/**
 * Takes the join point and reads the first page. Called AFTER the subscriber is held in the
 * fan-out: every update after the join point then reaches the subscriber through the feed, and
 * every update up to it through the replay — no gap, however far the feed lags behind the log.
 * The first page decides the `Last-Event-ID` response header, so it is read before the stream
 * opens.
 */
export async function startReplay(broker: Broker, from: ReplayFrom): Promise<StartedReplay> {
  for (let attempt = 1; ; attempt++) {
    const head = await broker.head();
    const upTo = { epoch: head.epoch, sequence: head.sequence };
    const first = await broker.replay(from, { upTo, limit: REPLAY_PAGE_SIZE });
    // The log lost data between the two calls: take the join point again.
    if (first.outcome !== 'epoch-changed' || attempt === EPOCH_RETRIES) return { upTo, first };
  }
}

/**
 * Writes the replay to the stream, page by page, the updates the subscriber asked for and may
 * see, honouring backpressure. Returns false when the replay could not be completed — the
 * stream closed, or the log lost the rest of the replay between two pages; the caller then
 * closes the stream so the client resumes from what it got.
 */
export async function writeReplay(
  broker: Broker,
  replay: StartedReplay,
  subscriber: Subscriber,
  stream: EventStream,
  metrics: HubMetrics,
): Promise<boolean> {
  let page = replay.first;
  for (;;) {
    for (const update of page.updates) {
      if (!subscriber.accepts(update)) continue;
      metrics.replayed++;
      metrics.delivered++;
      if (!stream.sendEncoded(update.chunk)) await stream.drained();
      if (stream.closed) return false;
    }
    if (page.next === undefined) return page.outcome !== 'epoch-changed';
    page = await broker.replay(
      { kind: 'position', position: page.next },
      { upTo: replay.upTo, limit: REPLAY_PAGE_SIZE },
    );
    if (page.outcome !== 'resumed') return false;
  }
}
