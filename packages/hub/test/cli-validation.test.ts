import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, Hub, type HubOptions } from '@tidings/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToEnd } from './cli-process.js';
import { SECRET, startHub, type TestHub } from './hub-harness.js';

const KEY = ['--jwt-key', SECRET, '--log-level', 'silent'];

/** Every value here used to start a hub that then failed: each must stop `serve` at once. */
describe('tidings serve refuses, at start, options that would fail later', () => {
  it.each([
    [['--port', '80000'], /--port: "80000" is out of range; use from 0 to 65535/],
    [['--max-queue', '0'], /--max-queue: "0" is out of range; use at least 1 bytes/],
    [['--heartbeat', '25d'], /--heartbeat: "25d" is out of range; use from 0 to 2147483647 ms/],
    [['--max-body', '100GiB'], /--max-body: "100GiB" is out of range/],
    [['--body-timeout', '0'], /--body-timeout: "0" is out of range/],
    [['--headers-timeout', '30d'], /--headers-timeout: "30d" is out of range/],
    [['--shutdown-timeout', '25d'], /--shutdown-timeout: "25d" is out of range/],
    [['--shutdown-retry', '20d'], /--shutdown-retry: "20d" is out of range/],
    [['--max-topics', '0'], /--max-topics: "0" is out of range; use at least 1/],
    [['--cookie-name', 'a;b'], /--cookie-name: "a;b" is not a cookie name/],
    [['--prot', '3000'], /unknown option --prot; did you mean --port\?/],
  ])('serve %j: one line, exit 2', async (args, reason) => {
    const { code, stderr } = await runToEnd(['serve', ...KEY, ...args]);
    expect(code).toBe(2);
    expect(stderr).toMatch(reason);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toContain('listening');
  });

  it('names the source of a bad value: environment variable or config file', async () => {
    const env = await runToEnd(['serve', ...KEY], { env: { TIDINGS_HEARTBEAT: '30d' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/TIDINGS_HEARTBEAT: "30d" is out of range/);
    const port = await runToEnd(['serve', ...KEY], { env: { TIDINGS_PORT: '65536' } });
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/TIDINGS_PORT: "65536" is out of range/);
  });

  it('reports a key file under the option that named it', async () => {
    const missing = await runToEnd(['serve', '--jwt-key', '@/missing.pem']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/tidings serve: --jwt-key: cannot read key file \/missing.pem/);
    const publisher = await runToEnd([
      'serve',
      ...KEY,
      '--publisher-jwt-key',
      '@/missing-publisher.pem',
    ]);
    expect(publisher.stderr).toMatch(/--publisher-jwt-key: cannot read key file/);
  });

  it('exits 1, not 2, when the port is in use: a failure while running, in one line', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const { code, stderr } = await runToEnd([
        'serve',
        ...KEY,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
      ]);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(
        `tidings serve: port ${port} is already in use: stop what holds it, or pick another with --port`,
      );
    } finally {
      holder.close();
    }
  });

  it('suggests the nearest command, and documents the exit codes in --help', async () => {
    const typo = await runToEnd(['serv']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown command "serv"; did you mean "tidings serve"?');
    const far = await runToEnd(['frobnicate']);
    expect(far.stderr).not.toContain('did you mean');
    // Not a command, though every object has it.
    expect((await runToEnd(['toString'])).code).toBe(2);
    for (const args of [['--help'], ['serve', '--help']]) {
      const { stdout } = await runToEnd(args);
      expect(stdout).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*usage/);
    }
  });
});

describe('Hub.create refuses a bad option with a RangeError naming it', () => {
  const auth: HubOptions['auth'] = {
    publisherKey: { kind: 'secret', secret: SECRET },
    subscriberKey: { kind: 'secret', secret: SECRET },
    anonymous: true,
    allowedOrigins: [],
  };
  it.each([
    [{ maxQueueBytes: 0 }, /maxQueueBytes must be a whole number, at least 1/],
    [{ heartbeatMs: 25 * 86_400_000 }, /heartbeatMs must be a whole number, 0 to 2147483647/],
    [{ bodyTimeoutMs: 0 }, /bodyTimeoutMs/],
    [{ headersTimeoutMs: 1.5 }, /headersTimeoutMs/],
    [{ maxBodyBytes: 2 ** 30 }, /maxBodyBytes/],
    [{ shutdownRetryMs: 2 ** 31 }, /shutdownRetryMs/],
    [{ retryAfterSeconds: -1 }, /retryAfterSeconds/],
    [{ maxConnections: Number.NaN }, /maxConnections/],
    [{ subscriptions: 'yes' }, /subscriptions must be true or false/],
    [{ auth: { ...auth, cookieName: 'a b' } }, /auth.cookieName "a b" is not a cookie name/],
    [{ auth: undefined }, /hub option auth is required/],
  ])('%j', async (bad, reason) => {
    const options = { auth, logger: createLogger({ level: 'silent' }), ...bad } as HubOptions;
    const created = Hub.create(options);
    await expect(created).rejects.toThrow(RangeError);
    await expect(created).rejects.toThrow(reason);
  });
});

describe('client commands explain what the hub cannot', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(() => t.close());

  it('publish to a URL that is not the hub says which URL the hub expects', async () => {
    const { code, stderr } = await runToEnd([
      'publish',
      '--hub',
      `${t.base}/some/path`,
      '--jwt-key',
      SECRET,
      '-t',
      'a',
      'x',
    ]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `no hub at ${t.base}/some/path (405): a hub takes updates at ${t.hubUrl}; give --hub ${t.base} or the full URL`,
    );
  });

  it('checks a topic as a selector before minting a token for it', async () => {
    const published = t.hub.metrics.published;
    const { code, stderr } = await runToEnd([
      'publish',
      '--hub',
      t.base,
      '--jwt-key',
      SECRET,
      '-t',
      'https://example.com/{',
      'x',
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /--topic: invalid topic selector "https:\/\/example.com\/\{": not a valid URI template: .* \(it goes in the mercure.publish claim of the token minted from --jwt-key\)/,
    );
    expect(stderr).not.toContain('401');
    expect(t.hub.metrics.published).toBe(published);
    const token = await runToEnd(['token', '--subscribe', 'a/{', '--jwt-key', SECRET]);
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/--subscribe: invalid topic selector "a\/\{"/);
  });

  it('an unreachable JWKS URL gives the cause', async () => {
    const port = await closedPort();
    const { code, stderr } = await runToEnd([
      'serve',
      '--jwt-key',
      `http://127.0.0.1:${port}/jwks.json`,
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      new RegExp(
        `cannot load the publisher JWKS from http://127.0.0.1:${port}/jwks.json: fetch failed: .*ECONNREFUSED`,
      ),
    );
  });
});

describe('npm start', () => {
  it('lets TIDINGS_PORT choose the port, and a flag after -- win over it', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const script = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start;
    expect(script).not.toMatch(/--port/);
    for (const [extra, env, expected] of [
      [[], await closedPort(), undefined],
      [['--', '--port'], await closedPort(), await closedPort()],
    ] as const) {
      const port = expected ?? env;
      const args = extra.length > 0 ? ['start', ...extra, String(port)] : ['start'];
      const child = spawn('npm', args, {
        cwd: root,
        env: { ...process.env, TIDINGS_PORT: String(env), TIDINGS_LOG_LEVEL: 'silent' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk;
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk;
      });
      try {
        await until(
          () => output.includes('listening on'),
          60_000,
          () => output,
        );
        expect(output).toContain(`listening on http://localhost:${port}`);
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(health.status).toBe(200);
      } finally {
        // The whole tree npm started: npm, the shell, the hub.
        process.kill(-child.pid!, 'SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
  }, 120_000);
});

/** A port nothing listens on (just released by the OS). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(done: () => boolean, timeoutMs: number, seen: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far: ${seen()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
