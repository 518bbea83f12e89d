import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '@tidings/hub';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runToEnd } from './cli-process.js';
import { SECRET, sleep, startHub, subscribePath, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';

const DOCS = new URL('../../../docs/hub.md', import.meta.url);

describe('tidings --help', () => {
  it('lists the commands', async () => {
    const { code, stdout } = await runToEnd(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'token', 'publish', 'listen'])
      expect(stdout).toContain(`  ${command} `);
  });

  it('documents every serve option, with its environment variable, as docs/hub.md does', async () => {
    const { code, stdout } = await runToEnd(['serve', '--help']);
    expect(code).toBe(0);
    const inHelp = [...stdout.matchAll(/^ {2}(?:-\w, )?--([a-z-]+)/gm)]
      .map((m) => m[1]!)
      .filter((flag) => flag !== 'help');
    expect(inHelp.length).toBeGreaterThan(20);
    // The configuration reference in the docs is a table with one row per flag.
    const docs = readFileSync(DOCS, 'utf8');
    const inDocs = [...docs.matchAll(/^\| `--([a-z-]+)/gm)].map((m) => m[1]!);
    expect(inDocs.sort()).toEqual([...inHelp].sort());
    for (const flag of inHelp) {
      const env = `TIDINGS_${flag.toUpperCase().replaceAll('-', '_')}`;
      expect(stdout).toContain(env);
      expect(docs).toContain(env);
    }
  });

  it('fails with exit code 2 and a hint on a usage mistake', async () => {
    const unknown = await runToEnd(['serve', '--prot', '3000']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown option --prot');
    expect(unknown.stderr).toContain('tidings serve --help');
    const nothing = await runToEnd(['serve', '--port', '0'], { env: { TIDINGS_JWT_KEY: '' } });
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/no key to verify tokens: pass --jwt-key .* or --dev/);
    const transport = await runToEnd(['serve', '--dev', '--transport', 'kafka://x']);
    expect(transport.code).toBe(2);
    expect(transport.stderr).toMatch(
      /unknown transport "kafka:\/\/x": known schemes are memory:\/\//,
    );
    const command = await runToEnd(['srve']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "srve"');
  });

  it('prints the help of listen, publish and token, and refuses arguments they do not take', async () => {
    for (const command of ['listen', 'publish', 'token']) {
      const help = await runToEnd([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: tidings ${command} `));
      expect(help.stdout).toContain(`--${command === 'token' ? 'jwt-key' : 'hub'} <`);
    }
    for (const command of ['listen', 'token']) {
      const stray = await runToEnd([command, 'stray', 'words']);
      expect(stray.code).toBe(2);
      expect(stray.stderr).toContain(`${command} takes no arguments, got "stray words"`);
    }
  });
});

describe('tidings token', () => {
  it('mints a token with the mercure claims, signed with the secret', async () => {
    const { code, stdout } = await runToEnd([
      'token',
      '--publish',
      '*',
      '--subscribe',
      'https://example.com/users/42/{?topic}',
      '--subscribe',
      'https://example.com/books/{id}',
      '--payload',
      '{"user":42}',
      '--expires',
      '1h',
      '--jwt-key',
      SECRET,
    ]);
    expect(code).toBe(0);
    const { payload, protectedHeader } = await jwtVerify(
      stdout.trim(),
      new TextEncoder().encode(SECRET),
    );
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.mercure).toEqual({
      publish: ['*'],
      subscribe: ['https://example.com/users/42/{?topic}', 'https://example.com/books/{id}'],
      payload: { user: 42 },
    });
    expect(payload.exp! - Math.floor(Date.now() / 1000)).toBeGreaterThan(3590);
  });

  it('reads the secret from TIDINGS_JWT_KEY and refuses to mint without selectors or secret', async () => {
    const viaEnv = await runToEnd(['token', '--subscribe', 'x'], {
      env: { TIDINGS_JWT_KEY: SECRET },
    });
    expect(viaEnv.code).toBe(0);
    expect(
      (await jwtVerify(viaEnv.stdout.trim(), new TextEncoder().encode(SECRET))).payload.mercure,
    ).toEqual({
      subscribe: ['x'],
    });
    const noSelectors = await runToEnd(['token', '--jwt-key', SECRET]);
    expect(noSelectors.code).toBe(2);
    expect(noSelectors.stderr).toContain('give at least one --publish or --subscribe');
    const noSecret = await runToEnd(['token', '--publish', '*'], { env: { TIDINGS_JWT_KEY: '' } });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('no secret');
    const short = await runToEnd(['token', '--publish', '*', '--jwt-key', 'short']);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/needs at least 32/);
  });
});

describe('tidings publish and listen against a hub', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(() => t.close());

  it('publish prints the id and the update reaches subscribers', async () => {
    const raw = await RawSubscriber.open(t.port, subscribePath(['cli-topic'])).opened();
    const { code, stdout, stderr } = await runToEnd(
      [
        'publish',
        '--hub',
        t.base,
        '--topic',
        'cli-topic',
        '--type',
        'note',
        '--id',
        'cli-1',
        '{"n":1}',
      ],
      { env: { TIDINGS_JWT_KEY: SECRET } },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe('cli-1\n');
    const fromStdin = await runToEnd(
      ['publish', '--hub', t.hubUrl, '-t', 'cli-topic', '--data', '-', '--jwt-key', SECRET],
      {
        input: 'line one\nline two\n',
      },
    );
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toMatch(/^urn:uuid:/);
    await raw.eventCount(2);
    expect(raw.events).toEqual([
      { type: 'note', data: '{"n":1}', lastEventId: 'cli-1' },
      { type: 'message', data: 'line one\nline two', lastEventId: fromStdin.stdout.trim() },
    ]);
    await raw.close();
  });

  it('publish exits 1 with the hub reason when the hub refuses', async () => {
    const token = await t.token({ publish: ['only-this'] });
    const refused = await runToEnd([
      'publish',
      '--hub',
      t.base,
      '--topic',
      'other',
      '--token',
      token,
      'x',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /the hub refused the update: 403 not allowed to publish to topic "other"/,
    );
    const unreachable = await runToEnd([
      'publish',
      '--hub',
      'http://127.0.0.1:1',
      '--topic',
      'a',
      '--jwt-key',
      SECRET,
      'x',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      'cannot reach the hub at http://127.0.0.1:1/.well-known/mercure',
    );
  });

  it('listen prints events as they arrive and exits 0 on Ctrl-C', async () => {
    const before = t.hub.metrics.connections;
    const listen = runCli([
      'listen',
      '--hub',
      t.base,
      '--topic',
      'https://example.com/books/{id}',
      '--json',
    ]);
    const deadline = Date.now() + 10_000;
    while (t.hub.metrics.connections === before) {
      if (Date.now() > deadline) throw new Error(`listen did not connect: ${listen.stderr()}`);
      await sleep(10);
    }
    await t.publish({ topic: 'https://example.com/books/3', data: 'three', id: 'l-3' });
    await listen.waitFor(/"data":"three"/, 'stdout');
    expect(JSON.parse(listen.stdout().trim())).toEqual({
      type: 'message',
      data: 'three',
      lastEventId: 'l-3',
    });
    listen.child.kill('SIGINT');
    expect(await listen.exited).toBe(0);
  });
  it('listen exits 1 with the hub reason when the hub refuses the subscription', async () => {
    const { code, stdout } = await runToEnd([
      'listen',
      '--hub',
      t.base,
      '--topic',
      'x',
      '--token',
      'not.a.jwt',
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/HTTP 401 .*malformed token/);
  });
});

describe('tidings serve configuration', () => {
  it('reads a config file, lets environment variables override it and flags override both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tidings-cli-'));
    const config = join(dir, 'hub.json');
    writeFileSync(
      config,
      JSON.stringify({ 'max-body': '1KiB', 'jwt-key': SECRET, anonymous: true, port: 1 }),
    );
    const serve = runCli(['serve', '--config', config, '--port', '0', '--log-level', 'warn'], {
      env: { TIDINGS_MAX_BODY: '2KiB' },
    });
    try {
      const [, port] = await serve.waitFor(/listening on http:\/\/localhost:(\d+)/);
      const token = await mintToken({ secret: SECRET, publish: ['*'] });
      const post = (size: number) =>
        fetch(`http://127.0.0.1:${port}/.well-known/mercure`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}` },
          body: new URLSearchParams({ topic: 't', data: 'x'.repeat(size) }),
        });
      expect((await post(1500)).status).toBe(200);
      expect((await post(3000)).status).toBe(413);
      // `anonymous` from the file: subscribing without a token works.
      const raw = await RawSubscriber.open(Number(port), subscribePath(['t'])).opened();
      expect(raw.status).toBe(200);
      await raw.close();
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('names unknown keys in a config file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tidings-cli-'));
    const config = join(dir, 'hub.json');
    writeFileSync(config, JSON.stringify({ prot: 3000 }));
    const { code, stderr } = await runToEnd(['serve', '--config', config]);
    expect(code).toBe(2);
    expect(stderr).toContain(`unknown option "prot" in config file ${config}`);
  });
});
