import { describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { subscribePath } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';

/**
 * `tidings serve` as operators run it: a real process, stopped with a signal. Open streams
 * are told to come back soon (`retry:`) and closed; the process exits 0.
 */
describe('graceful shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}: streams get a short retry and are closed, exit code 0`, async () => {
      const serve = runCli([
        'serve',
        '--dev',
        '--port',
        '0',
        '--log-format',
        'json',
        '--shutdown-retry',
        '2s',
      ]);
      const [, port] = await serve.waitFor(/listening on http:\/\/localhost:(\d+)/);
      const [, token] = await serve.waitFor(/Development publisher token[^\n]*\n\s*(\S+)/);

      // Development mode hands the token to local tools, but not to other sites.
      const devToken = await fetch(`http://127.0.0.1:${port}/dev/token`, {
        headers: { Origin: 'https://elsewhere.example' },
      });
      expect(await devToken.text()).toBe(token);
      expect(devToken.headers.get('access-control-allow-origin')).toBeNull();

      const subscribers = await Promise.all(
        [0, 1, 2].map(() => RawSubscriber.open(Number(port), subscribePath(['news'])).opened()),
      );
      const published = await fetch(`http://127.0.0.1:${port}/.well-known/mercure`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body: new URLSearchParams({ topic: 'news', data: 'before shutdown' }),
      });
      expect(published.status).toBe(200);
      await Promise.all(subscribers.map((s) => s.eventCount(1)));

      serve.child.kill(signal);
      await Promise.all(subscribers.map((s) => s.closed()));
      for (const subscriber of subscribers) {
        expect(subscriber.events.map((e) => e.data)).toEqual(['before shutdown']);
        // Spread between half and one and a half times --shutdown-retry.
        expect(subscriber.retries).toHaveLength(1);
        expect(subscriber.retries[0]).toBeGreaterThanOrEqual(1000);
        expect(subscriber.retries[0]).toBeLessThanOrEqual(3000);
      }
      expect(await serve.exited).toBe(0);
      expect(serve.stdout()).toMatch(/"msg":"hub closed"/);
      await Promise.all(subscribers.map((s) => s.close()));
    });
  }
});
