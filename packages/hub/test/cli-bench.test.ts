/**
 * `tidings bench` against a real hub process (`tidings serve` on a free port): the figures it
 * writes are checked against what an independent subscriber saw of the same run, and its
 * refusals and usage mistakes end with the documented exit codes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../../../test-support/binaries.js';
import { chromiumPath, launchChromium } from '../../../test-support/chromium.js';
import { type CliRun, runCli, runToEnd } from './cli-process.js';
import { SECRET } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';

const scratch = mkdtempSync(join(tmpdir(), 'tidings-bench-test-'));
let serve: CliRun;
let port: number;
let hub: string;

beforeAll(async () => {
  serve = runCli([
    'serve',
    '--port',
    '0',
    '--jwt-key',
    SECRET,
    '--anonymous',
    '--no-dashboard',
    '--log-level',
    'warn',
  ]);
  const [, found] = await serve.waitFor(/listening on http:\/\/localhost:(\d+)/);
  port = Number(found);
  hub = `http://localhost:${port}`;
});

afterAll(async () => {
  serve.child.kill('SIGTERM');
  await serve.exited;
  rmSync(scratch, { recursive: true, force: true });
});

interface BenchJson {
  tool: string;
  hub: string;
  topic: string;
  marker: string;
  options: {
    subscribers: number;
    rate: number;
    durationMs: number;
    warmupMs: number;
    publishConnections: number;
  };
  subscribers: {
    requested: number;
    opened: number;
    refused: number;
    refusedReasons: Record<string, number>;
    closedByHub: number;
  };
  publishing: { published: number; failed: number };
  deliveries: {
    expected: number;
    received: number;
    perSecond: number;
    dropped: number;
    duplicated: number;
    outOfOrder: number;
    overtaken: number;
  };
  latency: {
    samples: number;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    maxMs: number;
    bars: { upToMs: number; count: number }[];
  };
}

describe('tidings bench against a running hub', () => {
  const topic = 'https://example.com/bench-test';
  const json = join(scratch, 'run.json');
  const html = join(scratch, 'run.html');
  let result: BenchJson;
  let stdout: string;
  let watcher: RawSubscriber;

  beforeAll(async () => {
    // A subscriber of its own, outside the bench's load processes, sees the same run.
    watcher = await RawSubscriber.open(
      port,
      `/.well-known/mercure?topic=${encodeURIComponent(topic)}`,
    ).opened();
    const run = await runToEnd([
      'bench',
      '--hub',
      hub,
      '--jwt-key',
      SECRET,
      '--topic',
      topic,
      '--subscribers',
      '30',
      '--rate',
      '20',
      '--duration',
      '1s',
      '--warmup',
      '500ms',
      '--processes',
      '2',
      '--publish-connections',
      '4',
      '--json',
      json,
      '--html',
      html,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    stdout = run.stdout;
    result = JSON.parse(readFileSync(json, 'utf8')) as BenchJson;
  }, 60_000);

  afterAll(() => watcher.close());

  it('writes every figure to the JSON file', () => {
    expect(result.tool).toBe('tidings bench');
    expect(result.hub).toBe(`${hub}/.well-known/mercure`);
    expect(result.topic).toBe(topic);
    expect(result.options).toMatchObject({
      subscribers: 30,
      rate: 20,
      durationMs: 1000,
      warmupMs: 500,
      publishConnections: 4,
    });
    for (const field of ['p50Ms', 'p90Ms', 'p99Ms', 'maxMs'] as const) {
      expect(result.latency[field]).toBeGreaterThan(0);
    }
    expect(result.latency.p50Ms).toBeLessThanOrEqual(result.latency.p90Ms);
    expect(result.latency.p90Ms).toBeLessThanOrEqual(result.latency.p99Ms);
    expect(result.latency.p99Ms).toBeLessThanOrEqual(result.latency.maxMs);
    expect(result.deliveries.perSecond).toBeGreaterThan(0);
    expect(result.latency.bars.reduce((sum, bar) => sum + bar.count, 0)).toBe(
      result.latency.samples,
    );
  });

  it('counts what the hub delivered: every update to every subscriber, once, in order', async () => {
    // 20/s for 1.5 s in all.
    expect(result.publishing).toMatchObject({ published: 30, failed: 0 });
    expect(result.subscribers).toEqual({
      requested: 30,
      opened: 30,
      refused: 0,
      refusedReasons: {},
      closedByHub: 0,
    });
    expect(result.deliveries).toMatchObject({
      expected: 30 * 30,
      received: 30 * 30,
      dropped: 0,
      duplicated: 0,
      outOfOrder: 0,
      overtaken: expect.any(Number),
    });
    // The independent subscriber saw the same 30 updates, numbered 1 to 30, of this run, each
    // once, and none after an update sent once its own publish had been answered. (Two
    // publishes in flight at once may reach the hub, and so everyone, in either order.)
    const ours = watcher.events
      .map((event) => JSON.parse(event.data) as { marker: string; n: number; a: number })
      .filter((data) => data.marker === result.marker);
    expect(ours.map((data) => data.n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    let answeredBefore = 0;
    for (const update of ours) {
      expect(update.n).toBeGreaterThan(answeredBefore);
      answeredBefore = Math.max(answeredBefore, update.a);
    }
    // Latency samples: the deliveries of the updates published in the measured second.
    expect(result.latency.samples).toBeGreaterThan(0);
    expect(result.latency.samples).toBeLessThanOrEqual(30 * 30);
  });

  it('prints the summary, with no progress line when stdout is not a terminal', () => {
    expect(stdout).toContain('30 of 30 open');
    expect(stdout).toContain('published    30 updates at 20/s over up to 4 connections');
    expect(stdout).toMatch(/latency +p50 [\d.]+ ms +p90 [\d.]+ ms +p99 [\d.]+ ms +max/);
    expect(stdout).toContain('0 dropped, 0 duplicated, 0 out of order');
    expect(stdout).not.toContain('\r');
    expect(stdout).toContain(`wrote ${json}`);
  });

  it('writes an HTML report that needs nothing but itself', () => {
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<svg');
    expect(page).toContain('<rect');
    expect(page).toContain(topic);
    for (const external of [/<script/i, /<link/i, /\ssrc=/i, /\shref=/i, /url\(/i, /@import/i]) {
      expect(page).not.toMatch(external);
    }
  });

  it.skipIf(!chromiumPath)(
    'opens the HTML report in Chromium without a single request beyond the file',
    async () => {
      const browser = await launchChromium();
      try {
        const requests: string[] = [];
        browser.page.on('request', (request) => requests.push(request.url()));
        await browser.page.goto(`file://${html}`);
        const bars = await browser.page.locator('svg rect').count();
        expect(bars).toBe(result.latency.bars.length);
        expect(requests).toEqual([`file://${html}`]);
      } finally {
        await browser.close();
      }
    },
  );
});

describe('tidings bench when the hub refuses', () => {
  it('exits 1 when every subscriber is refused, naming the reason', async () => {
    const run = await runToEnd([
      'bench',
      '--hub',
      hub,
      '--jwt-key',
      SECRET,
      '--subscriber-token',
      'not-a-token',
      '--subscribers',
      '5',
      '--duration',
      '500ms',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^tidings bench: every subscriber was refused \(status 401 ×5\); the hub does not accept --subscriber-token/,
    );
  });

  it('exits 1 when nothing listens at --hub', async () => {
    const closed = await runToEnd([
      'bench',
      '--hub',
      'http://127.0.0.1:1',
      '--jwt-key',
      SECRET,
      '--subscribers',
      '2',
    ]);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('ECONNREFUSED ×2); is the hub running at --hub?');
  });
});

const openssl = requireBinary('openssl', 'openssl');

describe.skipIf(!openssl)('tidings bench over HTTPS', () => {
  let terminator: TlsServer;
  let tlsPort: number;

  beforeAll(async () => {
    // A self-signed certificate, and a TLS terminator in front of the real hub: what the
    // subscribers and the publisher meet is TLS, what answers behind it is the hub.
    const key = join(scratch, 'key.pem');
    const cert = join(scratch, 'cert.pem');
    execFileSync(
      openssl!,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    terminator = createTlsServer(
      { key: readFileSync(key), cert: readFileSync(cert), ALPNProtocols: ['http/1.1'] },
      (secure) => {
        const plain = connect(port, '127.0.0.1');
        secure.pipe(plain).pipe(secure);
        secure.on('error', () => plain.destroy());
        plain.on('error', () => secure.destroy());
      },
    );
    await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
    tlsPort = (terminator.address() as { port: number }).port;
  });

  afterAll(() => new Promise<void>((resolve) => terminator.close(() => resolve())));

  const args = () => [
    'bench',
    '--hub',
    `https://127.0.0.1:${tlsPort}`,
    '--jwt-key',
    SECRET,
    '--subscribers',
    '10',
    '--rate',
    '10',
    '--duration',
    '500ms',
    '--warmup',
    '500ms',
  ];

  it('publishes and subscribes over TLS', async () => {
    const run = await runToEnd([...args(), '--insecure']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('10 of 10 open');
    expect(run.stdout).toContain('100 of 100 received, 0 dropped, 0 duplicated, 0 out of order');
  });

  it('checks the certificate unless told not to', async () => {
    const run = await runToEnd(args());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('every subscriber was refused (DEPTH_ZERO_SELF_SIGNED_CERT ×10)');
  });
});

describe('tidings bench usage', () => {
  it('is in the command list, and a misspelling suggests it', async () => {
    const help = await runToEnd(['--help']);
    expect(help.stdout).toContain('  bench ');
    const typo = await runToEnd(['bnech']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "tidings bench"?');
    const own = await runToEnd(['bench', '--help']);
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(/^Usage: tidings bench --hub <url>/);
  });

  it.each([
    [['--hub', 'http://127.0.0.1:1'], 'no publisher token: pass --token'],
    [['--jwt-key', SECRET, '--rate', '0'], '--rate: "0" is out of range'],
    [['--jwt-key', SECRET, '--duration', '10'], 'plain numbers are milliseconds'],
    [['--jwt-key', SECRET, '--subscribers', 'many'], '--subscribers: "many" is not a whole number'],
    [
      ['--jwt-key', SECRET, '--publish-connections', '0'],
      '--publish-connections: "0" is out of range',
    ],
    [
      ['--jwt-key', SECRET, '--publish-connections', 'lots'],
      '--publish-connections: "lots" is not a whole number',
    ],
    [['--jwt-key', SECRET, '--publish-connections', '2.5'], '--publish-connections: "2.5"'],
    [['--jwt-key', SECRET, '--hub', 'ftp://x'], 'must be an http:// or https:// URL'],
    [
      ['--jwt-key', SECRET, '--json', '/no/such/folder/run.json'],
      '--json: the folder /no/such/folder does not exist',
    ],
    [
      ['--jwt-key', SECRET, '--subscriber', '5'],
      'unknown option --subscriber; did you mean --subscribers?',
    ],
    [['--jwt-key', 'short', '--hub', 'http://127.0.0.1:1'], 'HS256 needs at least 32'],
  ])('exits 2 before starting anything: %j', async (args, reason) => {
    const run = await runToEnd(['bench', ...args], {
      env: { TIDINGS_JWT_KEY: '', TIDINGS_TOKEN: '' },
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const [first] = run.stderr.split('\n');
    expect(first).toContain(reason);
    expect(first).toMatch(/^tidings bench: /);
  });
});
