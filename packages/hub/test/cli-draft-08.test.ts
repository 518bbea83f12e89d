import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runToEnd } from './cli-process.js';
import { SECRET, sleep, startHub, type TestHub } from './hub-harness.js';

/** `tidings token --draft 08` and `tidings listen --match...` against a real hub. */
describe('the CLI on draft-08', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ auth: { anonymous: false, issuer: 'https://app.example' } });
  });
  afterAll(() => t.close());

  it('mints an RFC 9068 access token with authorization_details', async () => {
    const { code, stdout } = await runToEnd([
      'token',
      '--draft',
      '08',
      '--issuer',
      'https://app.example',
      '--audience',
      t.hubUrl,
      '--publish',
      '*',
      '--subscribe',
      'urlpattern:https://example.com/books/:id',
      '--payload',
      '{"user":42}',
      '--jwt-key',
      SECRET,
    ]);
    expect(code).toBe(0);
    const { payload, protectedHeader } = await jwtVerify(
      stdout.trim(),
      new TextEncoder().encode(SECRET),
    );
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: 'https://app.example', aud: t.hubUrl });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.authorization_details).toEqual([
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['publish'],
        topics: [{ match: '*' }],
      },
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['subscribe'],
        topics: [{ match: 'https://example.com/books/:id', match_type: 'urlpattern' }],
        payload: { user: 42 },
      },
    ]);
  });

  it('refuses a draft-08 token without issuer and audience', async () => {
    const { code, stderr } = await runToEnd([
      'token',
      '--draft',
      '08',
      '--publish',
      '*',
      '--jwt-key',
      SECRET,
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--draft 08 needs --issuer and --audience/);
  });

  it('listens with --match-urlpattern and a draft-08 token, and publishes with one', async () => {
    const mint = async (...grant: string[]) =>
      (
        await runToEnd([
          'token',
          '--draft',
          '08',
          '--issuer',
          'https://app.example',
          '--audience',
          t.hubUrl,
          ...grant,
          '--jwt-key',
          SECRET,
        ])
      ).stdout.trim();
    const subscriberToken = await mint('--subscribe', '*');
    const publisherToken = await mint('--publish', 'urlpattern:https://example.com/books/:id');
    const before = t.hub.metrics.connections;
    const listen = runCli([
      'listen',
      '--hub',
      t.base,
      '--match-urlpattern',
      'https://example.com/books/:id',
      '--token',
      subscriberToken,
      '--json',
    ]);
    const deadline = Date.now() + 10_000;
    while (t.hub.metrics.connections === before) {
      if (Date.now() > deadline) throw new Error(`listen did not connect: ${listen.stderr()}`);
      await sleep(10);
    }
    const published = await runToEnd([
      'publish',
      '--hub',
      t.base,
      '--topic',
      'https://example.com/books/5',
      '--data',
      'five',
      '--id',
      'cli-08',
      '--private',
      '--token',
      publisherToken,
    ]);
    expect(published.stderr).toBe('');
    expect(published.stdout.trim()).toBe('cli-08');
    await listen.waitFor(/"data":"five"/, 'stdout');
    listen.child.kill('SIGINT');
    expect(await listen.exited).toBe(0);

    const refused = await runToEnd([
      'publish',
      '--hub',
      t.base,
      '--topic',
      'https://example.com/admin',
      '--data',
      'x',
      '--token',
      publisherToken,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /the hub refused the update: 403 not allowed to publish to topic "https:\/\/example.com\/admin"/,
    );
  });
});
