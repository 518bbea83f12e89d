import { copyFileSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { mintToken } from '@tidings/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import {
  makeTestCertificate,
  type TestCertificate,
} from '../../../test-support/tls-certificate.js';
import { type CliRun, runCli, runToEnd } from './cli-process.js';
import { H2Exchange, openSession, publish, subscribe } from './h2-subscriber.js';
import { SECRET } from './hub-harness.js';

const KEY = ['--jwt-key', SECRET];

let first: TestCertificate;
let second: TestCertificate;

beforeAll(() => {
  first = makeTestCertificate();
  second = makeTestCertificate();
});
afterAll(() => {
  first?.remove();
  second?.remove();
});

function peerFingerprint(session: ClientHttp2Session): string {
  return (session.socket as TLSSocket).getPeerCertificate().fingerprint256;
}

async function stop(serve: CliRun): Promise<void> {
  serve.child.kill('SIGTERM');
  expect(await serve.exited).toBe(0);
}

describe('tidings serve with TLS', () => {
  it('serves HTTPS with HTTP/2 from --tls-cert and --tls-key', async () => {
    const serve = runCli([
      'serve',
      ...KEY,
      '--anonymous',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--tls-cert',
      first.certFile,
      '--tls-key',
      first.keyFile,
    ]);
    try {
      const [, port] = (await serve.waitFor(/listening on https:\/\/localhost:(\d+)/)) as string[];
      const session = await openSession(`https://127.0.0.1:${port}`);
      expect(session.alpnProtocol).toBe('h2');
      expect(peerFingerprint(session)).toBe(first.fingerprint);
      const health = new H2Exchange(session, { ':path': '/livez' });
      expect((await health.head)[':status']).toBe(200);
      session.close();
    } finally {
      await stop(serve);
    }
  });

  it('takes TIDINGS_TLS_CERT and TIDINGS_TLS_KEY from the environment', async () => {
    const serve = runCli(['serve', ...KEY, '--port', '0', '--host', '127.0.0.1'], {
      env: { TIDINGS_TLS_CERT: first.certFile, TIDINGS_TLS_KEY: first.keyFile },
    });
    try {
      const [, port] = (await serve.waitFor(/listening on https:\/\/localhost:(\d+)/)) as string[];
      const session = await openSession(`https://127.0.0.1:${port}`);
      expect(peerFingerprint(session)).toBe(first.fingerprint);
      session.close();
    } finally {
      await stop(serve);
    }
  });

  it('speaks cleartext HTTP/2 with TIDINGS_H2C (and --h2c)', async () => {
    for (const [args, env] of [
      [['--h2c'], {}],
      [[], { TIDINGS_H2C: 'true' }],
    ] as const) {
      const serve = runCli(['serve', ...KEY, '--port', '0', '--host', '127.0.0.1', ...args], {
        env,
      });
      try {
        const [, port] = (await serve.waitFor(/listening on http:\/\/localhost:(\d+)/)) as string[];
        const session = await openSession(`http://127.0.0.1:${port}`);
        const health = new H2Exchange(session, { ':path': '/livez' });
        expect((await health.head)[':status']).toBe(200);
        session.close();
      } finally {
        await stop(serve);
      }
    }
  });

  it.each([
    [
      ['--tls-cert', '/missing/cert.pem', '--tls-key', '/missing/key.pem'],
      /cannot read the TLS certificate \/missing\/cert\.pem: no such file/,
    ],
    [['--tls-cert', 'CERT'], /--tls-cert needs --tls-key/],
    [['--tls-key', 'KEY'], /--tls-key needs --tls-cert/],
    [
      ['--tls-cert', 'KEY', '--tls-key', 'KEY'],
      /is not PEM: expected a "-----BEGIN CERTIFICATE-----" block/,
    ],
    [
      ['--tls-cert', 'CERT', '--tls-key', 'OTHER_KEY'],
      /the key in \S+ does not belong to the certificate in \S+/,
    ],
    [['--tls-cert', 'CERT', '--tls-key', 'KEY', '--h2c'], /--h2c is cleartext HTTP\/2/],
  ])('refuses %j before starting: one line, exit 2', async (args, reason) => {
    const files: Record<string, string> = {
      CERT: first.certFile,
      KEY: first.keyFile,
      OTHER_KEY: second.keyFile,
    };
    const { code, stderr } = await runToEnd([
      'serve',
      ...KEY,
      '--port',
      '0',
      ...args.map((arg) => files[arg] ?? arg),
    ]);
    expect(code).toBe(2);
    // The reason on one line, then the pointer to --help every usage mistake gets.
    const [line, hint, ...rest] = stderr.trim().split('\n');
    expect(line).toMatch(reason);
    expect(hint).toBe('Run tidings serve --help for the options.');
    expect(rest).toEqual([]);
    expect(stderr).not.toContain('listening');
  });

  it('reloads the certificate on SIGHUP: new connections get it, an open stream keeps going', async () => {
    // The files the hub reads; replaced on disk as a renewal does.
    const certFile = join(first.dir, 'live-cert.pem');
    const keyFile = join(first.dir, 'live-key.pem');
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    const serve = runCli([
      'serve',
      ...KEY,
      '--anonymous',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--tls-cert',
      certFile,
      '--tls-key',
      keyFile,
    ]);
    try {
      const [, port] = (await serve.waitFor(/listening on https:\/\/localhost:(\d+)/)) as string[];
      const origin = `https://127.0.0.1:${port}`;
      const before = await openSession(origin);
      expect(peerFingerprint(before)).toBe(first.fingerprint);
      const stream = subscribe(before, 'topic=books');
      expect((await stream.head)[':status']).toBe(200);

      // A bad pair first: logged, and the running certificate stays.
      writeFileSync(keyFile, 'not a key');
      serve.child.kill('SIGHUP');
      await serve.waitFor(/SIGHUP: reload failed; keeping the old one/, 'stdout');
      const still = await openSession(origin);
      expect(peerFingerprint(still)).toBe(first.fingerprint);
      still.close();

      copyFileSync(second.certFile, certFile);
      copyFileSync(second.keyFile, keyFile);
      serve.child.kill('SIGHUP');
      await serve.waitFor(/SIGHUP: reloaded/, 'stdout');
      const after = await openSession(origin);
      expect(peerFingerprint(after)).toBe(second.fingerprint);

      // The stream opened before the reload still gets updates, published on the new session.
      const token = await mintToken({ secret: SECRET, publish: ['*'] });
      const published = publish(after, token, { topic: 'books', data: 'after reload' });
      expect((await published.head)[':status']).toBe(200);
      await stream.waitFor(/data: after reload\n\n/);
      before.close();
      after.close();
    } finally {
      await stop(serve);
    }
  });

  it.skipIf(!redisServerBinary)(
    'reloads the certificate in every worker of --workers on one SIGHUP to the primary',
    async () => {
      const redis = await RedisServer.start();
      const certFile = join(second.dir, 'workers-cert.pem');
      const keyFile = join(second.dir, 'workers-key.pem');
      copyFileSync(first.certFile, certFile);
      copyFileSync(first.keyFile, keyFile);
      const serve = runCli([
        'serve',
        ...KEY,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--workers',
        '2',
        '--transport',
        redis.url(),
        '--tls-cert',
        certFile,
        '--tls-key',
        keyFile,
      ]);
      try {
        const [, port] = (await serve.waitFor(
          /listening on https:\/\/localhost:(\d+)/,
          'stderr',
          30_000,
        )) as string[];
        const origin = `https://127.0.0.1:${port}`;
        const before = await openSession(origin);
        expect(peerFingerprint(before)).toBe(first.fingerprint);
        before.close();
        copyFileSync(second.certFile, certFile);
        copyFileSync(second.keyFile, keyFile);
        serve.child.kill('SIGHUP');
        await serve.waitFor(/SIGHUP: reloaded[\s\S]*SIGHUP: reloaded/, 'stdout');
        // New connections are spread over the workers: every one has the new certificate.
        for (let i = 0; i < 6; i++) {
          const session = await openSession(origin);
          expect(peerFingerprint(session)).toBe(second.fingerprint);
          session.close();
        }
      } finally {
        await stop(serve);
        await redis.stop();
      }
    },
  );
});
