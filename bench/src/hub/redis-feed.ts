import { randomUUID } from 'node:crypto';
import { type BrokerFeed, createLogger, type StoredUpdate } from '@tidings/hub';
import { LatencyHistogram } from '@tidings/hub/load';
import { RedisBroker } from '@tidings/redis';
import { Registry } from 'prom-client';
import { sleep } from '../load/report.js';
import { type CommandCounters, commandCounters, countersSince } from './redis-counters.js';
import { type RedisPersistence, startRedisServer } from './redis-server-process.js';

export interface BrokerCosts {
  /** From calling publish() to Redis acknowledging the append (the Lua script), ms. */
  appendP50Ms: number;
  appendP99Ms: number;
  /** From calling publish() to the feed of another broker on the same Redis having it, ms. */
  feedP50Ms: number;
  feedP99Ms: number;
  /** From the append being acknowledged to that feed having it, ms (the feed's wake). */
  wakeP50Ms: number;
  wakeP99Ms: number;
  /** A PING's round trip on a connection of its own at the same rate: one hop there and back with no work in Redis, ms. */
  pingP50Ms: number;
  pingP99Ms: number;
  updates: number;
  /** Redis's own counters over the window. */
  redisCommands: CommandCounters;
}

/**
 * The broker alone, with no hub, HTTP or subscribers around it: one RedisBroker appends
 * `rate` updates/s, a second one on the same Redis (a node of its own) feeds them. What this
 * measures is the floor Redis puts under a delivery: the append round trip and the blocking
 * read's wake.
 */
export async function measureBrokerCosts(
  persistence: RedisPersistence,
  options: { rate: number; warmupMs: number; windowMs: number },
): Promise<BrokerCosts> {
  const redis = await startRedisServer(persistence);
  const key = `probe-${randomUUID()}`;
  const open = () =>
    RedisBroker.fromUrl(new URL(`${redis.url}?key=${key}`), {
      logger: createLogger({ level: 'silent' }),
      registry: new Registry(),
    });
  const writer = open();
  const reader = open();
  const append = new LatencyHistogram();
  const feed = new LatencyHistogram();
  const wake = new LatencyHistogram();
  const ping = new LatencyHistogram();
  const acknowledgedAt = new Map<string, number>();
  const fedAt = new Map<string, number>();
  let measuring = false;
  const now = () => performance.timeOrigin + performance.now();
  const sink: BrokerFeed = {
    update(update: StoredUpdate) {
      if (!measuring) return;
      const at = now();
      feed.record((at - update.acceptedAt) * 1000);
      const acknowledged = acknowledgedAt.get(update.id);
      if (acknowledged === undefined) fedAt.set(update.id, at);
      else wake.record(Math.max(0, at - acknowledged) * 1000);
    },
    gap() {},
    health() {},
  };
  try {
    await writer.start({ update() {}, gap() {}, health() {} });
    await reader.start(sink);
    const intervalMs = 1000 / options.rate;
    const publishUntil = async (endAt: number) => {
      let due = performance.now();
      let sequence = 0;
      const pending: Promise<void>[] = [];
      while (due < endAt) {
        const id = `u${++sequence}-${due}`;
        const startedAt = now();
        pending.push(
          writer
            .publish({
              topics: ['https://example.com/bench'],
              data: 'x'.repeat(64),
              private: false,
              id,
            })
            .then(() => {
              const at = now();
              if (!measuring) return;
              append.record((at - startedAt) * 1000);
              const fed = fedAt.get(id);
              // The feed can have it before the acknowledgement arrives: a wake of 0.
              if (fed === undefined) acknowledgedAt.set(id, at);
              else wake.record(0);
            }),
        );
        const pingedAt = now();
        pending.push(
          redis.admin.ping().then(() => {
            if (measuring) ping.record((now() - pingedAt) * 1000);
          }),
        );
        due += intervalMs;
        await sleep(Math.max(0, due - performance.now()));
      }
      await Promise.all(pending);
    };
    await publishUntil(performance.now() + options.warmupMs);
    const before = await commandCounters(redis.admin);
    measuring = true;
    await publishUntil(performance.now() + options.windowMs);
    await sleep(50);
    measuring = false;
    const after = await commandCounters(redis.admin);
    const ms = (histogram: LatencyHistogram, q: number) => histogram.percentile(q) / 1000;
    return {
      appendP50Ms: ms(append, 0.5),
      appendP99Ms: ms(append, 0.99),
      feedP50Ms: ms(feed, 0.5),
      feedP99Ms: ms(feed, 0.99),
      wakeP50Ms: ms(wake, 0.5),
      wakeP99Ms: ms(wake, 0.99),
      pingP50Ms: ms(ping, 0.5),
      pingP99Ms: ms(ping, 0.99),
      updates: append.count,
      redisCommands: countersSince(before, after),
    };
  } finally {
    await writer.close();
    await reader.close();
    await redis.stop();
  }
}
