import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type RedisServer, redisServerBinary } from './redis-server.js';

/**
 * A Redis Sentinel of a test's own (`redis-server <conf> --sentinel`, which the plain
 * redis-server binary runs; no separate redis-sentinel package is needed), on a free port of
 * 127.0.0.1, watching one primary under `name` with a quorum of one.
 *
 * It declares the primary down after `downAfterMs` without an answer, so a test's failover
 * takes a few seconds rather than Sentinel's default half a minute.
 */
export class RedisSentinel {
  readonly port: number;
  readonly name: string;
  readonly #dir: string;
  readonly #process: ChildProcess;

  private constructor(port: number, name: string, dir: string, child: ChildProcess) {
    this.port = port;
    this.name = name;
    this.#dir = dir;
    this.#process = child;
  }

  static async start(
    name: string,
    primary: RedisServer,
    { downAfterMs = 1000, failoverTimeoutMs = 3000 } = {},
  ): Promise<RedisSentinel> {
    if (!redisServerBinary) {
      throw new Error('redis-server is not installed: apt-get install -y redis-server');
    }
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tidings-sentinel-'));
    // Sentinel rewrites its configuration file as it learns the topology, so it must be a
    // file of its own that it can write.
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn(redisServerBinary, [conf, '--sentinel'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const sentinel = new RedisSentinel(port, name, dir, child);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await sentinel.command('PING')) === '+PONG') return sentinel;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null)
        throw new Error(`redis sentinel on port ${port} exited at start`);
      if (Date.now() > deadline) throw new Error(`redis sentinel on port ${port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends one inline command and resolves with the first line of the reply. */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      let reply = '';
      socket.setTimeout(2000, () => socket.destroy(new Error(`no reply to ${line}`)));
      socket.once('error', reject);
      socket.on('data', (data) => {
        reply += data.toString('utf8');
        const end = reply.indexOf('\r\n');
        if (end >= 0) {
          resolve(reply.slice(0, end));
          socket.end();
        }
      });
      socket.connect(this.port, '127.0.0.1', () => socket.write(`${line}\r\n`));
    });
  }

  async stop(): Promise<void> {
    if (this.#process.exitCode === null && this.#process.signalCode === null) {
      const exited = new Promise((resolve) => this.#process.once('exit', resolve));
      this.#process.kill('SIGKILL');
      await exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
