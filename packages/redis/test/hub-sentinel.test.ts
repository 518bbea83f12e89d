import { mintToken } from '@tidings/hub';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import { type CliRun, runCli, serveArgs } from '../../hub/test/cli-process.js';
import { RawSubscriber } from '../../hub/test/raw-subscriber.js';
import { Topology } from './sentinel-topology.js';

/**
 * `tidings serve --transport redis+sentinel://…` as an operator runs it: a real primary, two
 * replicas and a Sentinel, the hub a process of its own, subscribers and publishers on HTTP.
 */
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const HUB = '/.well-known/mercure';

describe.skipIf(!redisServerBinary)('tidings serve through Redis Sentinel', () => {
  const runs: CliRun[] = [];
  const subscribers: RawSubscriber[] = [];
  const topologies: Topology[] = [];
  const serve = (transport: string): CliRun => {
    const run = runCli(serveArgs(SECRET, transport));
    runs.push(run);
    return run;
  };

  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((subscriber) => subscriber.close()));
    for (const run of runs) run.child.kill('SIGKILL');
    await Promise.all(runs.splice(0).map((run) => run.exited));
    await Promise.allSettled(topologies.splice(0).map((each) => each.stop()));
  });

  it('keeps its subscribers through a failover: every update answered 200 arrives once, in order', async () => {
    const redis = new Topology();
    topologies.push(redis);
    await redis.start(2);
    const run = serve(redis.url('?key=hub&wait=1&wait_timeout=2s&timeout=500ms'));
    const [, port] = await run.waitFor(/listening on http:\/\/[^:]+:(\d+)/, 'stderr', 20_000);
    const token = await mintToken({ secret: SECRET, publish: ['*'] });
    const subscriber = RawSubscriber.open(Number(port), `${HUB}?topic=news`, {});
    subscribers.push(subscriber);
    await subscriber.opened();
    expect(subscriber.status).toBe(200);

    const acknowledged: string[] = [];
    const statuses = new Set<number>();
    let attempts = 0;
    const publishOne = async (): Promise<void> => {
      const id = `news-${++attempts}`;
      const response = await fetch(`http://127.0.0.1:${port}${HUB}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body: new URLSearchParams({ topic: 'news', id, data: id }),
      });
      statuses.add(response.status);
      if (response.status === 200) acknowledged.push(id);
      else await new Promise((resolve) => setTimeout(resolve, 20));
    };
    while (acknowledged.length < 5) await publishOne();
    const oldPort = redis.primary.port;
    await redis.primary.kill('SIGKILL');
    let failedOver = false;
    const failover = redis.failedOverFrom(oldPort).then(() => {
      failedOver = true;
    });
    while (!failedOver || acknowledged.length < 10) await publishOne();
    await failover;

    await subscriber.until(
      () => acknowledged.every((id) => subscriber.events.some((e) => e.lastEventId === id)),
      20_000,
      `every acknowledged update (${acknowledged.join(', ')})`,
    );
    const delivered = subscriber.events.map((event) => event.lastEventId);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(delivered.filter((id) => acknowledged.includes(id))).toEqual(acknowledged);
    // While there was no primary the hub said so: 503, never a 500.
    expect([...statuses].filter((status) => status !== 200 && status !== 503)).toEqual([]);
    // The stream stayed open throughout: no reconnection was needed.
    expect(subscriber.ended).toBe(false);
  });

  it('stops at start with one line when the Redis runs in Cluster mode', async () => {
    const cluster = await RedisServer.start(undefined, ['--cluster-enabled', 'yes']);
    try {
      const run = serve(cluster.url('?key=c'));
      expect(await run.exited).not.toBe(0);
      expect(run.stderr()).toMatch(
        /Redis at 127\.0\.0\.1:\d+ runs in Cluster mode, which the transport does not support; use a standalone Redis or a Sentinel-managed primary \(redis\+sentinel:\/\/\)/,
      );
    } finally {
      await cluster.stop();
    }
  });
});
