import { createServer } from 'node:net';
import { createLogger, Hub, type HubOptions } from '@tidings/hub';
import { describe, expect, it } from 'vitest';
import { runToEnd } from './cli-process.js';
import { SECRET } from './hub-harness.js';

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
