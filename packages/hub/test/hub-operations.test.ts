import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, Hub } from '@tidings/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET, startHub, subscribePath, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';

describe('operations routes', () => {
  let t: TestHub;
  beforeAll(async () => {
    // Development mode: the admin routes beside the Mercure endpoint, as `tidings serve --dev`.
    t = await startHub({ devPublisherToken: 'dev.token.value', admin: 'public' });
  });
  afterAll(() => t.close());

  it('reports health as JSON', async () => {
    const response = await fetch(`${t.base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', broker: 'memory', connections: 0 });
  });

  it('exposes the counters and the publish-to-write histogram on /metrics', async () => {
    const raw = await RawSubscriber.open(t.port, subscribePath(['metered'])).opened();
    await t.publish({ topic: 'metered', data: 'a', id: 'm1' });
    await t.publish({ topic: 'metered', data: 'b', id: 'm2' });
    await t.publish({ topic: 'elsewhere', data: 'c' });
    await raw.eventCount(2);
    const resuming = await RawSubscriber.open(t.port, subscribePath(['metered']), {
      'Last-Event-ID': 'm1',
    }).opened();
    await resuming.eventCount(1);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const response = await fetch(`${t.base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    expect(value('tidings_connections')).toBe(2);
    expect(value('tidings_subscriptions')).toBe(2);
    expect(value('tidings_updates_published_total')).toBe(3);
    expect(value('tidings_updates_dispatched_total')).toBe(3);
    expect(value('tidings_deliveries_total')).toBe(3);
    expect(value('tidings_updates_replayed_total')).toBe(1);
    expect(value('tidings_slow_consumers_dropped_total')).toBe(0);
    expect(value('tidings_publish_to_write_seconds_count')).toBe(3);
    expect(text).toMatch(/^tidings_http_requests_total\{route="hub",status="200"\} \d+$/m);
    await Promise.all([raw.close(), resuming.close()]);
  });

  it('streams live counters on /stats for the dashboard', async () => {
    const stats = await RawSubscriber.open(t.port, '/stats').opened();
    expect(stats.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await stats.eventCount(1);
    for (let i = 0; i < 5; i++) await t.publish({ topic: 'counted', data: String(i) });
    await stats.eventCount(2, 3000);
    const latest = JSON.parse(stats.events.at(-1)!.data);
    expect(stats.events.at(-1)!.type).toBe('stats');
    expect(Object.keys(latest).sort()).toEqual(
      [
        'connections',
        'delivered',
        'eventsPerSecond',
        'latency',
        'published',
        'subscriptions',
        'uptimeSeconds',
      ].sort(),
    );
    expect(latest.eventsPerSecond).toBeGreaterThanOrEqual(5);
    expect(Object.keys(latest.latency).sort()).toEqual(['count', 'p50Ms', 'p99Ms']);
    // The dashboard's own stream is not a subscriber.
    expect(latest.connections).toBe(0);
    await stats.close();
  });

  it('serves the dashboard, uncached, and the development token without CORS', async () => {
    const page = await fetch(`${t.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('/.well-known/mercure');
    expect(html).toContain('dev.token.value');
    const token = await fetch(`${t.base}/dev/token`, {
      headers: { Origin: 'https://other.example' },
    });
    expect(await token.text()).toBe('dev.token.value');
    expect(token.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('embedded in an existing server', () => {
  it('serves through hub.handler and reports shutting-down once closed', async () => {
    const hub = await Hub.create({
      auth: {
        publisherKey: { kind: 'secret', secret: SECRET },
        subscriberKey: { kind: 'secret', secret: SECRET },
        anonymous: true,
        allowedOrigins: [],
      },
      dashboard: false,
      logger: createLogger({ level: 'silent' }),
      processMetrics: false,
    });
    const server = createServer(hub.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const raw = await RawSubscriber.open(port, subscribePath(['embedded'])).opened();
      const id = await hub.publish({ topics: ['embedded'], data: 'from the app' });
      await raw.eventCount(1);
      expect(raw.events[0]).toEqual({ type: 'message', data: 'from the app', lastEventId: id });
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
      // The application's own publishes are held to the same rules.
      await expect(
        hub.publish({ topics: ['/.well-known/mercure/subscriptions/a/b'] }),
      ).rejects.toThrow(/reserved namespace/);
      await expect(hub.publish({ topics: ['embedded'], id: 'a\nb' })).rejects.toThrow(
        /must not contain CR, LF or NUL/,
      );
      await expect(hub.publish({ topics: [] })).rejects.toThrow(/missing "topic"/);
      await expect(hub.publish({ topics: ['embedded'], retry: -3 })).rejects.toThrow(
        /"retry" must be a non-negative integer of milliseconds, got -3/,
      );
      await expect(hub.publish({ topics: ['embedded'], retry: Number.NaN })).rejects.toThrow(
        /got NaN/,
      );

      await hub.close();
      await raw.closed();
      expect(raw.retries).toHaveLength(1);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'shutting-down' });
      const late = await fetch(`http://127.0.0.1:${port}${subscribePath(['embedded'])}`);
      expect(late.status).toBe(503);
      expect(await late.text()).toMatch(/shutting down/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
