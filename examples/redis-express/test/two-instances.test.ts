import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSubscriber } from '../../../packages/hub/test/raw-subscriber.js';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Instance {
  child: ChildProcess;
  port: number;
}

describe.skipIf(!redisServerBinary)('two instances of an Express app on one RedisChannel', () => {
  let redis: RedisServer;
  const instances: Instance[] = [];
  const subscribers: RawSubscriber[] = [];

  const start = (): Promise<Instance> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN], {
        env: { ...process.env, PORT: '0', REDIS_URL: redis.url() },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (text: string) => {
        out += text;
        const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
        if (port) {
          const instance = { child, port: Number(port) };
          instances.push(instance);
          resolve(instance);
        }
      });
      child.once('exit', (code) => reject(new Error(`the app exited (${code}): ${out}`)));
    });

  const post = (instance: Instance, body: unknown) =>
    fetch(`http://127.0.0.1:${instance.port}/news`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  const listen = async (instance: Instance, lastEventId?: string) => {
    const subscriber = RawSubscriber.open(
      instance.port,
      '/events',
      lastEventId ? { 'Last-Event-ID': lastEventId } : {},
    );
    subscribers.push(subscriber);
    await subscriber.opened();
    expect(subscriber.status).toBe(200);
    return subscriber;
  };

  const titles = (subscriber: RawSubscriber) =>
    subscriber.events
      .filter((event) => event.type === 'headline')
      .map((event) => (JSON.parse(event.data) as { title: string }).title);

  beforeAll(async () => {
    redis = await RedisServer.start();
    await Promise.all([start(), start()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    for (const instance of instances) instance.child.kill('SIGKILL');
    await redis?.stop();
  });

  it('gives every client of every instance every headline once, in one order', async () => {
    const [one, two] = instances as [Instance, Instance];
    const clients = [await listen(one), await listen(two)];
    for (let i = 0; i < 10; i++) {
      expect((await post(i % 2 === 0 ? one : two, { title: `h${i}` })).status).toBe(201);
    }
    const expected = Array.from({ length: 10 }, (_, i) => `h${i}`);
    for (const client of clients) {
      await client.eventCount(10);
      expect(titles(client)).toEqual(expected);
    }
  });

  it('resumes a client on the other instance with Last-Event-ID when its instance dies', async () => {
    const [one, two] = instances as [Instance, Instance];
    const client = await listen(one);
    expect((await post(two, { title: 'seen' })).status).toBe(201);
    await client.eventCount(1);
    one.child.kill('SIGKILL');
    await client.closed();
    // Published while the client is away.
    for (const title of ['missed-1', 'missed-2']) {
      expect((await post(two, { title })).status).toBe(201);
    }
    const resumed = await listen(two, client.events.at(-1)!.lastEventId);
    await resumed.eventCount(2);
    expect((await post(two, { title: 'live' })).status).toBe(201);
    await resumed.eventCount(3);
    expect(titles(resumed)).toEqual(['missed-1', 'missed-2', 'live']);
  });

  it('refuses a headline without a title, and keeps nothing', async () => {
    const [, two] = instances as [Instance, Instance];
    const client = await listen(two);
    const refused = await post(two, { title: '' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: 'send JSON {"title": "..."} with a non-empty title',
    });
    expect((await post(two, { title: 'after' })).status).toBe(201);
    await client.eventCount(1);
    expect(titles(client)).toEqual(['after']);
  });
});
