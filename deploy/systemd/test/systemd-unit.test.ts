import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../../../test-support/binaries.js';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = readFileSync(join(ROOT, 'deploy/systemd/tidings.service'), 'utf8');
const ENV_FILE = readFileSync(join(ROOT, 'deploy/systemd/tidings.env'), 'utf8');
const CLI = join(ROOT, 'packages/hub/dist/cli.js');
const INSTALL_DIR = '/opt/tidings';

const systemdAnalyze = requireBinary('systemd-analyze', 'systemd');

/** `KEY=value` lines of an EnvironmentFile (comments and blank lines skipped). */
function environmentFile(text: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    entries[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return entries;
}

/**
 * The arguments of ExecStart after the program, with `${VAR}` expanded from `environment`
 * as systemd does (an unset variable becomes an empty string).
 */
function execStartArguments(environment: Record<string, string>): string[] {
  const [, ...words] = directive('ExecStart')!.split(/\s+/);
  return words.map((word) =>
    word.replace(/\$\{(\w+)\}/g, (_, name: string) => environment[name] ?? ''),
  );
}

/** The value of a `Key=value` line of the unit. */
function directive(name: string): string | undefined {
  return new RegExp(`^${name}=(.*)$`, 'm').exec(UNIT)?.[1];
}

const scratch = mkdtempSync(join(tmpdir(), 'tidings-systemd-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The unit as installed: `/opt/tidings` moved into a scratch folder that holds a real
 * `tidings` executable (the built CLI), because `verify` checks that ExecStart can run.
 */
function installedUnit(unitText = UNIT, name = 'tidings.service'): string {
  const prefix = join(scratch, 'opt-tidings');
  const bin = join(prefix, 'node_modules/.bin');
  mkdirSync(bin, { recursive: true });
  const tidings = join(bin, 'tidings');
  writeFileSync(tidings, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(tidings, 0o755);
  const path = join(scratch, name);
  writeFileSync(path, unitText.replaceAll(INSTALL_DIR, prefix));
  return path;
}

describe.skipIf(!systemdAnalyze)(
  'deploy/systemd/tidings.service, checked by systemd-analyze',
  () => {
    it('verifies without a single warning', () => {
      const result = spawnSync(systemdAnalyze!, ['verify', installedUnit()], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    });

    it('is hardened: systemd rates its exposure below 2.0 ("OK")', () => {
      const result = spawnSync(
        systemdAnalyze!,
        ['security', '--offline=true', '--threshold=20', installedUnit()],
        { encoding: 'utf8' },
      );
      expect(result.stdout).toMatch(/Overall exposure level for tidings\.service: 1\.\d/);
      expect(result.status).toBe(0);
    });

    // The checks above can fail: a misspelt directive and a missing program are reported.
    it('would report a misspelt directive and a program that cannot run', () => {
      const typo = spawnSync(
        systemdAnalyze!,
        ['verify', installedUnit(UNIT.replace('ProtectSystem=', 'ProtectSytem='), 'typo.service')],
        { encoding: 'utf8' },
      );
      expect(typo.stderr).toMatch(/Unknown key 'ProtectSytem'/);
      const missing = spawnSync(
        systemdAnalyze!,
        [
          'verify',
          installedUnit(
            UNIT.replace('.bin/tidings serve', '.bin/tidingz serve'),
            'missing.service',
          ),
        ],
        { encoding: 'utf8' },
      );
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toMatch(/tidingz is not executable/);
    });
  },
);

describe('deploy/systemd: what the unit and its environment file promise', () => {
  const environment = environmentFile(ENV_FILE);

  it('raises the descriptor limit above the connections the hub accepts', () => {
    const limit = Number(directive('LimitNOFILE'));
    expect(limit).toBeGreaterThanOrEqual(65_536);
    expect(Number(environment.TIDINGS_MAX_CONNECTIONS)).toBeLessThan(limit);
  });

  it('runs the workers of tidings.env on a transport they share, stopped through the primary', () => {
    expect(directive('ExecStart')).toMatch(/ serve --workers \$\{TIDINGS_WORKERS\}$/);
    expect(environment.TIDINGS_WORKERS).toBe('auto');
    expect(environment.TIDINGS_TRANSPORT).toMatch(/^redis:\/\//);
    // SIGTERM to the primary alone (it stops the workers in order), SIGKILL to all past the timeout.
    expect(directive('KillMode')).toBe('mixed');
    expect(Number(directive('LimitNOFILE'))).toBe(262_144);
    expect(directive('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it('does not restart on a usage mistake (exit code 2), which would fail the same way', () => {
    expect(directive('Restart')).toBe('on-failure');
    expect(directive('RestartPreventExitStatus')).toBe('2');
  });

  it('names only options that tidings serve knows', () => {
    const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(Object.keys(environment).length).toBeGreaterThan(5);
    for (const name of Object.keys(environment)) expect(help.stdout).toContain(name);
  });

  it.skipIf(!redisServerBinary)(
    'starts the hub as ExecStart does with that environment: workers on Redis, Mercure and health public, metrics on loopback only',
    async () => {
      const secretFile = join(scratch, 'jwt-secret');
      writeFileSync(secretFile, 'a-secret-of-at-least-thirty-two-bytes-for-hs256');
      const redis = await RedisServer.start();
      const child = spawn(process.execPath, [CLI, ...execStartArguments(environment)], {
        env: {
          ...process.env,
          ...environment,
          // The file's choices, on ports that are free here.
          TIDINGS_TRANSPORT: environment.TIDINGS_TRANSPORT!.replace(
            '127.0.0.1:6379',
            `127.0.0.1:${redis.port}`,
          ),
          TIDINGS_JWT_KEY: `@${secretFile}`,
          TIDINGS_PORT: '0',
          TIDINGS_ADMIN_LISTEN: '127.0.0.1:0',
          TIDINGS_LOG_LEVEL: 'warn',
          NO_COLOR: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let banner = '';
        child.stderr!.setEncoding('utf8');
        await new Promise<void>((resolve, reject) => {
          child.stderr!.on('data', (chunk: string) => {
            banner += chunk;
            if (/metrics +http:\/\/\S+\/metrics/.test(banner)) resolve();
          });
          child.once('exit', (code) => reject(new Error(`the hub exited (${code}): ${banner}`)));
        });
        const base = /listening on (http:\/\/\S+)/.exec(banner)![1]!;
        const admin = /metrics +(http:\/\/\S+)\/metrics/.exec(banner)![1]!;
        expect(banner).toMatch(/workers +\d+ processes sharing the port/);
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
        expect((await fetch(`${admin}/readyz`)).status).toBe(200);
        expect((await fetch(`${base}/metrics`)).status).toBe(404);
        const metrics = await fetch(`${admin}/metrics`);
        expect(metrics.status).toBe(200);
        expect(await metrics.text()).toMatch(/^tidings_worker_running [1-9]/m);
      } finally {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        await redis.stop();
      }
    },
  );
});
