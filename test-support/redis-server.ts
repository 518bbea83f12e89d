import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';

/** The redis-server binary, or `undefined` (tests skip; under CI=true this throws). */
export const redisServerBinary = requireBinary('redis-server', 'redis-server');

/**
 * A redis-server of a test's own, on a free port of 127.0.0.1, never the shared one on 6379.
 *
 * It keeps an append-only file fsynced on every write in a directory of its own, so
 * {@link restart} brings back everything it acknowledged, as a Redis run for "acknowledged =
 * kept" does; {@link flush} loses everything, as a failover to an empty replica does.
 */
export class RedisServer {
  readonly port: number;
  readonly #binary: string;
  readonly #dir: string;
  readonly #args: readonly string[];
  #process: ChildProcess | undefined;

  private constructor(binary: string, port: number, args: readonly string[]) {
    this.#binary = binary;
    this.port = port;
    this.#args = args;
    this.#dir = mkdtempSync(join(tmpdir(), 'tidings-redis-'));
  }

  /** `args` are more `redis-server` options, e.g. `['--replicaof', '127.0.0.1', '6380']`. */
  static async start(
    binary = redisServerBinary,
    args: readonly string[] = [],
  ): Promise<RedisServer> {
    if (!binary) throw new Error('redis-server is not installed: apt-get install -y redis-server');
    const server = new RedisServer(binary, await freePort(), args);
    await server.restart();
    return server;
  }

  /** `redis://127.0.0.1:<port>` plus `suffix` (e.g. `?max_events=5`). */
  url(suffix = ''): string {
    return `redis://127.0.0.1:${this.port}${suffix}`;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  /** Starts the server (again) on the same port and data; resolves once it answers PING. */
  async restart(): Promise<void> {
    if (this.#process) return;
    const child = spawn(
      this.#binary,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.#dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--protected-mode',
        'no',
        ...this.#args,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    this.#process = child;
    child.once('exit', () => {
      if (this.#process === child) this.#process = undefined;
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await this.command('PING')) === '+PONG') return;
      } catch {
        // not listening yet
      }
      if (!this.#process) throw new Error(`redis-server on port ${this.port} exited at start`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops the server: SIGKILL by default, as a crash; resolves once it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#process;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Freezes the server (SIGSTOP) without closing its sockets, as a hung host does; `false` thaws it. */
  freeze(frozen = true): void {
    this.#process?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** FLUSHALL: the server loses everything it kept. */
  async flush(): Promise<void> {
    const reply = await this.command('FLUSHALL');
    if (reply !== '+OK') throw new Error(`FLUSHALL answered ${reply}`);
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
    this.freeze(false);
    await this.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
