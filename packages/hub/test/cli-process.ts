import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built `tidings` bin, run with the same Node as the tests. */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Resolves once stdout or stderr matches. */
  waitFor(
    pattern: RegExp,
    stream?: 'stdout' | 'stderr',
    timeoutMs?: number,
  ): Promise<RegExpMatchArray>;
}

export function runCli(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...options.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    notify();
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, stream = 'stderr', timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = (stream === 'stdout' ? out : err).match(pattern);
          if (match) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out waiting for ${pattern} on ${stream}; stdout: ${out}\nstderr: ${err}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
        exited.then(() => setTimeout(check, 0));
      });
    },
  };
}

/** Runs a command to its end. */
export async function runToEnd(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = runCli(args, options);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** A hub running as a real `tidings serve` process. */
export interface ServedHub {
  run: CliRun;
  port: number;
}

/**
 * The arguments of a test hub: `secret` for tokens, anonymous subscribers, a free loopback
 * port, warnings only, on `transport`; `extra` goes before the transport.
 */
export function serveArgs(secret: string, transport: string, extra: string[] = []): string[] {
  return [
    'serve',
    '--jwt-key',
    secret,
    '--anonymous',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'warn',
    ...extra,
    '--transport',
    transport,
  ];
}

/** Starts a test hub (see {@link serveArgs}); resolves once it listens, with its port. */
export async function serveHub(
  secret: string,
  transport: string,
  extra: string[] = [],
): Promise<ServedHub> {
  const run = runCli(serveArgs(secret, transport, extra));
  const [, port] = await run.waitFor(/listening on http:\/\/[^:]+:(\d+)/, 'stderr', 20_000);
  return { run, port: Number(port) };
}
