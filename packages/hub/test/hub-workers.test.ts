import { existsSync, readFileSync } from 'node:fs';
import { mintToken } from '@tidings/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import { type CliRun, runCli, runToEnd } from './cli-process.js';
import { RawSubscriber } from './raw-subscriber.js';

/**
 * `tidings serve --workers N` on a real redis-server: N hub processes forked by a primary,
 * sharing one port, as an operator runs the hub to use every core of a machine.
 */
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const HUB = '/.well-known/mercure';
const TOPIC = 'https://example.com/workers';

/** The ids of a process's children (Linux /proc). */
function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number).sort();
}

/** Polls `read` until `accept` holds or the deadline passes (then fails, saying what it saw). */
async function eventually<T>(
  read: () => Promise<T> | T,
  accept: (value: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `name{labels} value` lines of a Prometheus text page. */
function metric(text: string, name: string): number[] {
  const values: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      values.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
  }
  return values;
}

describe.skipIf(!redisServerBinary)('tidings serve --workers on one Redis', () => {
  let redis: RedisServer;
  let token: string;
  let run: CliRun;
  let port: number;
  let admin: string;
  const subscribers: RawSubscriber[] = [];

  const metricsPage = async () => (await fetch(`${admin}/metrics`)).text();
  const publish = (id: string) =>
    fetch(`http://127.0.0.1:${port}${HUB}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: new URLSearchParams({ topic: TOPIC, id, data: `data of ${id}` }),
    });
  const subscribe = async () => {
    const subscriber = RawSubscriber.open(port, `${HUB}?topic=${encodeURIComponent(TOPIC)}`);
    subscribers.push(subscriber);
    await subscriber.opened();
    expect(subscriber.status).toBe(200);
    return subscriber;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    token = await mintToken({ secret: SECRET, publish: ['*'] });
    run = runCli([
      'serve',
      '--jwt-key',
      SECRET,
      '--anonymous',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--admin-listen',
      '127.0.0.1:0',
      '--log-format',
      'json',
      '--shutdown-retry',
      '200ms',
      '--transport',
      redis.url('?key=workers&timeout=500ms'),
      '--workers',
      '2',
    ]);
    const [, listening] = await run.waitFor(/listening on http:\/\/[^:]+:(\d+)/, 'stderr', 30_000);
    port = Number(listening);
    const [, adminPort] = await run.waitFor(/metrics +http:\/\/[^:]+:(\d+)\/metrics/);
    admin = `http://127.0.0.1:${adminPort}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    if (run && run.child.exitCode === null) {
      for (const pid of childPids(run.child.pid!)) process.kill(pid, 'SIGKILL');
      run.child.kill('SIGKILL');
      await run.exited;
    }
    await redis?.stop();
  });

  it('runs two hub processes under the primary and says so', async () => {
    expect(childPids(run.child.pid!)).toHaveLength(2);
    expect(run.stderr()).toMatch(/workers +2 processes sharing the port/);
    const ready = await fetch(`${admin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', workers: 2 });
  });

  it('delivers a publish to subscribers on both workers, and adds up their metrics', async () => {
    // The primary hands connections to the workers in turn: open until both hold some.
    const perWorker = await eventually(
      async () => {
        await subscribe();
        return metric(await metricsPage(), 'tidings_worker_connections');
      },
      (counts) => counts.length === 2 && counts.every((count) => count > 0),
      'subscribers on both workers',
    );
    const open = subscribers.length;
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(open);

    expect((await publish('both-1')).status).toBe(200);
    for (const subscriber of subscribers) {
      const [event] = await subscriber.eventCount(1);
      expect(event?.lastEventId).toBe('both-1');
      expect(event?.data).toBe('data of both-1');
    }

    const page = await metricsPage();
    // Each worker's own counters, summed over both.
    expect(metric(page, 'tidings_connections')).toEqual([open]);
    expect(metric(page, 'tidings_updates_published_total')).toEqual([1]);
    expect(metric(page, 'tidings_updates_dispatched_total')).toEqual([2]);
    expect(metric(page, 'tidings_deliveries_total')).toEqual([open]);
    expect(metric(page, 'tidings_worker_processes')).toEqual([2]);
    expect(metric(page, 'tidings_worker_running')).toEqual([2]);
    expect(metric(page, 'tidings_worker_ready')).toEqual([1, 1]);
    expect(metric(page, 'tidings_worker_resident_memory_bytes').every((b) => b > 1e6)).toBe(true);
  });

  it('answers the dashboard and /stats with 404 and says what to use instead', async () => {
    for (const path of ['/', '/stats']) {
      const response = await fetch(`${admin}${path}`);
      expect(response.status).toBe(404);
      expect(await response.text()).toMatch(
        /^the dashboard and \/stats show one hub process, and this hub runs 2 \(--workers\): run it without --workers .*\/metrics/,
      );
    }
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
  });

  it('passes SIGHUP on to every worker, which handles it as a single hub does', async () => {
    const before = run.stdout().split('SIGHUP: nothing to reload').length;
    run.child.kill('SIGHUP');
    await eventually(
      () => run.stdout().split('SIGHUP: nothing to reload').length - before,
      (count) => count === 2,
      'both workers to handle SIGHUP',
    );
    expect(run.child.exitCode).toBe(null);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
  });

  it('starts a killed worker again; its subscribers resume on the other', async () => {
    const [doomed, survivor] = childPids(run.child.pid!) as [number, number];
    process.kill(doomed, 'SIGKILL');
    const pids = await eventually(
      () => childPids(run.child.pid!),
      (now) => now.length === 2 && !now.includes(doomed) && now.includes(survivor),
      'a new worker in place of the killed one',
    );
    expect(pids).toContain(survivor);
    await eventually(
      async () => (await fetch(`${admin}/readyz`)).status,
      (status) => status === 200,
      'every worker ready again',
    );
    const page = await metricsPage();
    expect(metric(page, 'tidings_worker_restarts_total')).toEqual([1]);
    expect(run.stdout()).toMatch(/"signal":"SIGKILL".*"msg":"worker exited; starting it again"/);

    // The killed worker's streams ended; the others still get updates.
    const alive = subscribers.filter((subscriber) => !subscriber.ended);
    expect(alive.length).toBeGreaterThan(0);
    expect(alive.length).toBeLessThan(subscribers.length);
    const fresh = await subscribe();
    expect((await publish('after-restart')).status).toBe(200);
    for (const subscriber of [...alive, fresh]) {
      await subscriber.until(
        () => subscriber.events.some((event) => event.lastEventId === 'after-restart'),
        10_000,
        'the update published after the restart',
      );
    }
  });

  it('stops every worker gracefully on SIGTERM and exits 0', async () => {
    const workers = childPids(run.child.pid!);
    const open = subscribers.filter((subscriber) => !subscriber.ended);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    for (const pid of workers) expect(existsSync(`/proc/${pid}`)).toBe(false);
    for (const subscriber of open) {
      await subscriber.closed();
      // Told to come back soon (to another hub, behind a load balancer): --shutdown-retry,
      // spread by half either way so that clients do not all return at once.
      const retry = subscriber.retries.at(-1)!;
      expect(retry).toBeGreaterThanOrEqual(100);
      expect(retry).toBeLessThanOrEqual(300);
    }
    expect(run.stdout()).toMatch(/"msg":"shutting down every worker"/);
    expect(run.stdout().match(/"msg":"hub closed"/g)).toHaveLength(2);
  });
});

describe('tidings serve --workers refuses what cannot work', () => {
  it('refuses memory://: workers would not share updates (exit 2, one line)', async () => {
    const result = await runToEnd(['serve', '--jwt-key', SECRET, '--port', '0', '--workers', '2']);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      'tidings serve: --workers needs a transport the workers share: on memory:// each worker would keep its own updates and a subscriber would miss what was published to another; use --transport redis://host:port, or drop --workers',
    );
  });

  it('refuses a count that is not one, from the flag or TIDINGS_WORKERS', async () => {
    const flag = await runToEnd(['serve', '--jwt-key', SECRET, '--workers', 'many']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(
      /^tidings serve: --workers must be a number of processes or auto \(one per core\), got "many"\n/,
    );
    const env = await runToEnd(['serve', '--jwt-key', SECRET], { env: { TIDINGS_WORKERS: '0' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/^tidings serve: --workers must be between 1 and 256/);
  });
});

describe.skipIf(!redisServerBinary)('tidings serve --workers: starting', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('gives every worker the one generated --dev secret, so the printed token works on each', async () => {
    const run = runCli([
      'serve',
      '--dev',
      '--port',
      '0',
      '--log-level',
      'warn',
      '--transport',
      redis.url('?key=dev'),
      '--workers',
      '2',
    ]);
    try {
      const [, port] = await run.waitFor(/listening on http:\/\/[^:]+:(\d+)/, 'stderr', 30_000);
      const [, devToken] = await run.waitFor(/publisher token[^\n]*\n +(\S+)/);
      // Fresh connections, handed to the workers in turn: both verify the token.
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`http://127.0.0.1:${port}${HUB}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${devToken}`, Connection: 'close' },
          body: new URLSearchParams({ topic: TOPIC, data: String(i) }),
        });
        expect(response.status).toBe(200);
      }
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    }
  });

  it('stops with the workers’ reason and exit code 1 when they cannot listen', async () => {
    const busy = runCli([
      'serve',
      '--jwt-key',
      SECRET,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
    ]);
    try {
      const [, port] = await busy.waitFor(/listening on http:\/\/[^:]+:(\d+)/);
      const result = await runToEnd([
        'serve',
        '--jwt-key',
        SECRET,
        '--port',
        port!,
        '--host',
        '127.0.0.1',
        '--transport',
        redis.url(),
        '--workers',
        '2',
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `tidings serve: port ${port} is already in use: stop what holds it, or pick another with --port`,
      );
      expect(result.stderr).not.toMatch(/listening on/);
    } finally {
      busy.child.kill('SIGTERM');
      await busy.exited;
    }
  });
});
