import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BrokerHealth,
  createLogger,
  Hub,
  type HubOptions,
  MemoryBroker,
  mintToken,
} from '@tidings/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runToEnd } from './cli-process.js';
import { SECRET, startHub, subscribePath, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';

const ADMIN_ROUTES = ['/', '/stats', '/metrics', '/dev/token'];

const AUTH: HubOptions['auth'] = {
  publisherKey: { kind: 'secret', secret: SECRET },
  subscriberKey: { kind: 'secret', secret: SECRET },
  anonymous: true,
  allowedOrigins: [],
};

function createHub(options: Partial<HubOptions> = {}): Promise<Hub> {
  return Hub.create({
    logger: createLogger({ level: 'silent' }),
    processMetrics: false,
    auth: AUTH,
    ...options,
  });
}

/** An application's own server, with the hub's handler mounted in it. */
async function serve(handler: RequestListener) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A memory broker whose health the test sets (what a Redis broker reports when Redis is down). */
class BrokerWithHealth extends MemoryBroker {
  answer: () => Promise<BrokerHealth> = async () => ({ ready: true });
  override health(): Promise<BrokerHealth> {
    return this.answer();
  }
}

describe('a hub by default: the public listener has the Mercure endpoint and health, nothing else', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ devPublisherToken: 'dev.token.value' });
  });
  afterAll(() => t.close());

  it('answers 404 on every admin route, naming the admin listener', async () => {
    for (const path of ADMIN_ROUTES) {
      const response = await fetch(`${t.base}${path}`);
      expect(response.status, path).toBe(404);
      const reason = await response.text();
      expect(reason, path).toContain('--admin-listen');
      expect(reason, path).not.toContain('dev.token.value');
    }
  });

  it('still serves subscribe, publish and the health checks', async () => {
    const raw = await RawSubscriber.open(t.port, subscribePath(['public'])).opened();
    expect((await t.publish({ topic: 'public', data: 'x' })).status).toBe(200);
    await raw.eventCount(1);
    await raw.close();
    for (const path of ['/livez', '/readyz', '/healthz']) {
      const response = await fetch(`${t.base}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control'), path).toBe('no-store');
    }
    expect(await (await fetch(`${t.base}/livez`)).json()).toMatchObject({ status: 'ok' });
    expect(await (await fetch(`${t.base}/readyz`)).json()).toEqual({
      status: 'ready',
      broker: 'memory',
    });
  });
});

describe('the admin listener', () => {
  let hub: Hub;
  let base: string;
  let adminBase: string;
  let adminAddress: AddressInfo;
  beforeAll(async () => {
    hub = await createHub({ devPublisherToken: 'dev.token.value' });
    base = `http://127.0.0.1:${(await hub.listen(0, '127.0.0.1')).port}`;
    adminAddress = await hub.listenAdmin(0);
    adminBase = `http://127.0.0.1:${adminAddress.port}`;
  });
  afterAll(() => hub.close());

  it('binds the loopback address unless told otherwise', () => {
    expect(adminAddress.address).toBe('127.0.0.1');
    expect(hub.adminServer?.listening).toBe(true);
  });

  it('serves the dashboard, /stats, /metrics and the dev token', async () => {
    const page = await fetch(`${adminBase}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBeTruthy();
    const metrics = await fetch(`${adminBase}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^tidings_connections \d+$/m);
    expect(await (await fetch(`${adminBase}/dev/token`)).text()).toBe('dev.token.value');
    const stats = await RawSubscriber.open(adminAddress.port, '/stats').opened();
    expect(stats.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await stats.eventCount(1);
    await stats.close();
  });

  it('serves the hub too, so the dashboard loaded from it can subscribe and publish', async () => {
    const raw = await RawSubscriber.open(adminAddress.port, subscribePath(['both'])).opened();
    const token = await mintToken({ secret: SECRET, publish: ['*'] });
    const published = await fetch(`${base}/.well-known/mercure`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: new URLSearchParams({ topic: 'both', data: 'from the public side' }),
    });
    expect(published.status).toBe(200);
    await raw.eventCount(1);
    expect(raw.events[0]!.data).toBe('from the public side');
    await raw.close();
  });

  it('refuses a second admin listener', async () => {
    await expect(hub.listenAdmin(0)).rejects.toThrow(/already listening/);
  });

  it('closes with the hub', async () => {
    const other = await createHub();
    const { port } = await other.listenAdmin(0);
    await other.close();
    await expect(fetch(`http://127.0.0.1:${port}/livez`)).rejects.toThrow();
  });
});

describe("admin: 'public' (development)", () => {
  it('serves the admin routes on the public listener', async () => {
    const t = await startHub({ admin: 'public' });
    try {
      expect((await fetch(`${t.base}/metrics`)).status).toBe(200);
      expect((await fetch(`${t.base}/`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('is the only other value', async () => {
    await expect(createHub({ admin: 'open' as 'public' })).rejects.toThrow(
      /hub option admin must be 'separate' or 'public', got "open"/,
    );
  });
});

describe('/livez and /readyz', () => {
  it('readyz follows the broker: 503 with its reason while it cannot take updates', async () => {
    const broker = new BrokerWithHealth();
    const hub = await createHub({ broker });
    const { base, close } = await serve(hub.handler);
    try {
      broker.answer = async () => ({
        ready: false,
        reason: 'connection to 127.0.0.1:6390 refused',
      });
      const down = await fetch(`${base}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({
        status: 'not-ready',
        broker: 'memory',
        reason: 'the memory broker cannot take updates: connection to 127.0.0.1:6390 refused',
      });
      // The process still answers: live, not ready.
      expect((await fetch(`${base}/livez`)).status).toBe(200);

      broker.answer = () => Promise.reject(new Error('READONLY replica'));
      const failed = await fetch(`${base}/readyz`);
      expect(failed.status).toBe(503);
      expect((await failed.json()).reason).toMatch(/READONLY replica$/);

      broker.answer = async () => ({ ready: true });
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    } finally {
      await hub.close();
      await close();
    }
  });

  it('readyz answers 503 when the broker does not answer at all', async () => {
    const broker = new BrokerWithHealth();
    const hub = await createHub({ broker });
    const { base, close } = await serve(hub.handler);
    try {
      broker.answer = () => new Promise(() => undefined);
      const hanging = await fetch(`${base}/readyz`);
      expect(hanging.status).toBe(503);
      expect((await hanging.json()).reason).toMatch(/no answer within 2 s/);
    } finally {
      await hub.close();
      await close();
    }
  });

  it('readyz answers 503 while the hub is at --max-connections, 200 once a slot frees', async () => {
    const t = await startHub({ maxConnections: 1 });
    try {
      const raw = await RawSubscriber.open(t.port, subscribePath(['full'])).opened();
      const full = await fetch(`${t.base}/readyz`);
      expect(full.status).toBe(503);
      expect((await full.json()).reason).toBe('the hub is at its limit of 1 open connections');
      await raw.close();
      let status = 503;
      for (let i = 0; i < 100 && status === 503; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        status = (await fetch(`${t.base}/readyz`)).status;
      }
      expect(status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('during shutdown: livez stays 200, readyz and healthz answer 503', async () => {
    const hub = await createHub();
    const { base, close } = await serve(hub.handler);
    try {
      await hub.close();
      const live = await fetch(`${base}/livez`);
      expect(live.status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ reason: 'the hub is shutting down' });
      expect((await fetch(`${base}/healthz`)).status).toBe(503);
    } finally {
      await close();
    }
  });

  it('counts the probes under their own route in /metrics', async () => {
    const t = await startHub({ admin: 'public' });
    try {
      await fetch(`${t.base}/livez`);
      await fetch(`${t.base}/readyz`);
      const text = await (await fetch(`${t.base}/metrics`)).text();
      expect(text).toMatch(/^tidings_http_requests_total\{route="\/livez",status="200"\} 1$/m);
      expect(text).toMatch(/^tidings_http_requests_total\{route="\/readyz",status="200"\} 1$/m);
    } finally {
      await t.close();
    }
  });
});

describe('tidings serve --admin-listen', () => {
  it('serves metrics and the dashboard only on the admin address', async () => {
    const run = runCli(['serve', '--port', '0', '--admin-listen', '0', '--log-level', 'warn'], {
      env: { TIDINGS_JWT_KEY: SECRET },
    });
    try {
      const [, port] = await run.waitFor(/listening on http:\/\/localhost:(\d+)/);
      const [, adminPort] = await run.waitFor(/metrics +http:\/\/localhost:(\d+)\/metrics/);
      expect(adminPort).not.toBe(port);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${adminPort}/metrics`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${adminPort}/`)).status).toBe(200);
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    }
  });

  it('without it, says how to get the dashboard and serves none', async () => {
    const run = runCli(['serve', '--port', '0', '--log-level', 'warn'], {
      env: { TIDINGS_JWT_KEY: SECRET },
    });
    try {
      const [, port] = await run.waitFor(/listening on http:\/\/localhost:(\d+)/);
      await run.waitFor(/dashboard +off \(serve it and \/metrics with --admin-listen/);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('with --dev, keeps everything on the main port', async () => {
    const run = runCli(['serve', '--dev', '--port', '0', '--log-level', 'warn']);
    try {
      const [, port] = await run.waitFor(/listening on http:\/\/localhost:(\d+)/);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('refuses an address it cannot read, before starting, with exit code 2', async () => {
    for (const [value, why] of [
      ['localhost:', 'has no port number'],
      ['::1:9090', 'is an IPv6 address without brackets'],
      ['[::1]', 'has no port after the bracketed IPv6 address'],
      ['127.0.0.1:70000', 'has a port above 65535'],
      [':9090', 'has an empty host'],
    ] as const) {
      const { code, stderr } = await runToEnd(['serve', '--admin-listen', value], {
        env: { TIDINGS_JWT_KEY: SECRET },
      });
      expect(code, value).toBe(2);
      expect(stderr, value).toContain(`--admin-listen takes [host:]port`);
      expect(stderr, value).toContain(`"${value}" ${why}`);
      expect(stderr, value).not.toContain('listening');
    }
  });
});
