import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, startHub, subscribePath, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';

/**
 * Fan-out has one owner and is never nested: what a dropped subscriber's close listener
 * publishes (its subscription event), or anything else that publishes during a fan-out, waits
 * its turn instead of running inside the fan-out in progress.
 */
describe('fan-out while slow subscribers are dropped', () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers every publish 200 and delivers every update to the readers, with subscription events on', async () => {
    t = await startHub({ subscriptions: true, maxQueueBytes: 16 * 1024 });
    const stalled = await RawSubscriber.open(t.port, subscribePath(['big'])).opened();
    stalled.pause();
    const reader = await RawSubscriber.open(t.port, subscribePath(['big'])).opened();
    const data = 'x'.repeat(64 * 1024);
    const statuses: number[] = [];
    // Enough to fill the stalled socket's buffers, so the hub has to drop it mid fan-out.
    const count = 160;
    for (let i = 0; i < count; i++) {
      const response = await t.publish({ topic: 'big', data, id: `u-${i}` });
      statuses.push(response.status);
      await response.text();
    }
    expect(statuses).toEqual(Array(count).fill(200));
    await reader.eventCount(count, 20_000);
    expect(reader.events.map((event) => event.lastEventId)).toEqual(
      Array.from({ length: count }, (_, i) => `u-${i}`),
    );
    expect(t.hub.metrics.slowConsumersDropped).toBe(1);
    await Promise.all([stalled.close(), reader.close()]);
  });

  it('keeps every reader in order while stalled subscribers are dropped and announced mid fan-out', async () => {
    t = await startHub({ subscriptions: true, maxQueueBytes: 64 * 1024 });
    const hub = t.hub;
    const reader = await RawSubscriber.open(t.port, subscribePath(['a', 'b'])).opened();
    const stalled = await Promise.all(
      [0, 1, 2].map(async () => {
        const subscriber = await RawSubscriber.open(t!.port, subscribePath(['a'])).opened();
        subscriber.pause();
        return subscriber;
      }),
    );
    const published: string[] = [];
    for (let i = 0; i < 300; i++) {
      published.push(
        await hub.publish({ topics: ['a'], data: 'y'.repeat(32 * 1024), id: `a-${i}` }),
      );
      published.push(await hub.publish({ topics: ['b'], data: `b ${i}`, id: `b-${i}` }));
      // Let the sockets move: the reader keeps up, the stalled ones fill up and are dropped.
      await sleep(1);
    }
    await reader.eventCount(600, 30_000);
    await sleep(50);
    expect(reader.events.map((event) => event.lastEventId)).toEqual(published);
    expect(hub.metrics.slowConsumersDropped).toBe(3);
    await Promise.all([reader.close(), ...stalled.map((s) => s.close())]);
  });
});

describe('topic matching cost is bounded', () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('refuses a topic longer than --max-topic-length with a 400 naming the limit, and publishes nothing', async () => {
    t = await startHub({ maxTopicLength: 100 });
    const raw = await RawSubscriber.open(t.port, subscribePath(['{+any}'])).opened();
    const response = await t.publish({ topic: `https://example.com/${'a'.repeat(200)}` });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(
      /longer than the hub's limit of 100 \(--max-topic-length\)/,
    );
    await expect(
      t.hub.publish({ topics: [`https://example.com/${'b'.repeat(200)}`] }),
    ).rejects.toThrow(/limit of 100/);
    await sleep(50);
    expect(raw.events).toEqual([]);
    await raw.close();
  });

  it('refuses a selector that is too long or has too many template expressions', async () => {
    t = await startHub({ maxTopicLength: 100 });
    const long = await fetch(`${t.hubUrl}?topic=${encodeURIComponent(`/${'c'.repeat(150)}`)}`);
    expect(long.status).toBe(400);
    expect(await long.text()).toMatch(/topic selector of 151 characters.*limit of 100/);
    const template = Array.from({ length: 17 }, (_, i) => `{v${i}}`).join('/');
    const many = await fetch(`${t.hubUrl}?topic=${encodeURIComponent(template)}`);
    expect(many.status).toBe(400);
    expect(await many.text()).toMatch(/17 template expressions; at most 16/);
    expect(t.hub.metrics.connections).toBe(0);
  });

  it('matches a thousand distinct templates shared by many subscribers and stays responsive', async () => {
    t = await startHub();
    const subscribers: RawSubscriber[] = [];
    for (let i = 0; i < 2000; i++) {
      const template = `https://example.com/t${i % 1000}/{id}{?q*}`;
      subscribers.push(RawSubscriber.open(t.port, subscribePath([template])));
    }
    await Promise.all(subscribers.map((s) => s.opened(20_000)));
    const topic = `https://example.com/t7/${'z'.repeat(2000)}`;
    const response = await t.publish({ topic, data: 'hit', id: 'hit' });
    expect(response.status).toBe(200);
    // Exactly the two subscribers on template 7 get it.
    await sleep(200);
    const reached = subscribers.filter((s) => s.events.some((e) => e.lastEventId === 'hit'));
    expect(reached).toHaveLength(2);
    const health = await fetch(`${t.base}/livez`);
    expect(health.status).toBe(200);
    await Promise.all(subscribers.map((s) => s.close()));
  });
});

/**
 * Once shutdown has begun, a publish that was not yet handed to the broker is refused with
 * 503 and `Connection: close`: no publisher is told "accepted" for an update that every
 * stream here has already been closed before.
 */
describe('publishing during shutdown', () => {
  it('answers a publish whose body completes after shutdown began with 503, Retry-After and Connection: close', async () => {
    const t = await startHub();
    const subscriber = await RawSubscriber.open(t.port, subscribePath(['late'])).opened();
    const token = await t.token({ publish: ['*'] });
    const body = new URLSearchParams({ topic: 'late', data: 'too late' }).toString();
    const answer = new Promise<{ status: number; headers: Record<string, unknown> }>(
      (resolve, reject) => {
        const publish = request(
          {
            host: '127.0.0.1',
            port: t.port,
            method: 'POST',
            path: '/.well-known/mercure',
            headers: {
              Authorization: `Bearer ${token}`,
              'Content-Type': 'application/x-www-form-urlencoded',
              'Content-Length': String(body.length),
            },
          },
          (response) => {
            response.resume();
            resolve({ status: response.statusCode ?? 0, headers: response.headers });
          },
        );
        publish.on('error', reject);
        publish.write(body.slice(0, 5));
        setTimeout(() => {
          const closing = t.close();
          setTimeout(() => publish.end(body.slice(5)), 50);
          void closing;
        }, 100);
      },
    );
    const { status, headers } = await answer;
    expect(status).toBe(503);
    expect(headers['retry-after']).toBe('1');
    expect(headers.connection).toBe('close');
    await subscriber.closed();
    expect(subscriber.events).toEqual([]);
    await t.close();
  });
});
