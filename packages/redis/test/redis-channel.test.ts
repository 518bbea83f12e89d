import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisChannel } from '@tidings/redis';
import { EventStream } from '@tidings/server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import { RawSubscriber } from '../../hub/test/raw-subscriber.js';

describe.skipIf(!redisServerBinary)('RedisChannel in one instance', () => {
  let redis: RedisServer;
  let admin: Redis;
  let channel: RedisChannel;
  let http: Server;
  let port: number;
  const subscribers: RawSubscriber[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.port, '127.0.0.1');
    channel = await RedisChannel.open({ url: redis.url(), name: 'alone' });
    http = createServer((request, response) => {
      void channel.subscribe(EventStream.fromNode(request, response));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    await channel?.close();
    http?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  const listen = async (lastEventId?: string) => {
    const subscriber = RawSubscriber.open(
      port,
      '/',
      lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId },
    );
    subscribers.push(subscriber);
    return subscriber.opened();
  };

  it('refuses an invalid event before Redis sees it', async () => {
    await expect(channel.publish({ id: 'a\nb', data: 'x' })).rejects.toThrow(TypeError);
    await expect(channel.publish({ id: '', data: 'x' })).rejects.toThrow(/must not be empty/);
    await expect(channel.publish({ event: 'bad\revent', data: 'x' })).rejects.toThrow(TypeError);
    expect(await admin.exists('tidings:channel:alone:log')).toBe(0);
  });

  it('tells a client resuming from an id it does not hold, then replays everything kept', async () => {
    await channel.publish({ id: 'one', data: { n: 1 } });
    await channel.publish({ id: 'two', event: 'tick', data: 'plain' });
    const resumed = await listen('never-published');
    const events = await resumed.eventCount(3);
    expect(events[0]).toMatchObject({
      type: 'tidings:history-gap',
      data: JSON.stringify({ lastEventId: 'never-published', earliestId: null }),
    });
    expect(events.slice(1).map((event) => [event.type, event.data, event.lastEventId])).toEqual([
      ['message', '{"n":1}', 'one'],
      ['tick', 'plain', 'two'],
    ]);
  });

  it('resumes after a known id with no gap notice, then goes live', async () => {
    const resumed = await listen('one');
    await resumed.eventCount(1);
    await channel.publish({ id: 'three', data: 'live' });
    const events = await resumed.eventCount(2);
    expect(events.map((event) => event.lastEventId)).toEqual(['two', 'three']);
    expect(events.every((event) => event.type !== 'tidings:history-gap')).toBe(true);
  });
});
