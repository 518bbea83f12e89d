import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const TEMPLATE = join(here, '..', 'nginx.conf.template');
const SSE_PROXY_CONF = join(here, '..', 'sse-proxy.conf');

export interface RunningNginx {
  port: number;
  /** nginx's error log so far (for failure messages). */
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * Runs a throwaway nginx in the foreground with deploy/nginx/nginx.conf.template filled in:
 * every file it writes (pid, logs, temp dirs) under a fresh temporary directory, listening on
 * a free port of 127.0.0.1 and proxying to the upstream on `upstreamPorts` (several: spread
 * over them round-robin, with the `server` options docs/deploy.md gives for several hubs).
 * Each response names the upstream that served it in `X-Upstream` (`127.0.0.1:<port>`).
 */
export async function startNginx(
  nginx: string,
  upstreamPorts: number | readonly number[],
): Promise<RunningNginx> {
  const ports = typeof upstreamPorts === 'number' ? [upstreamPorts] : upstreamPorts;
  const servers = ports
    .map((port) => `server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;`)
    .join('\n        ');
  let lastError: Error | undefined;
  // A free port can be taken by someone else between finding and binding it: try again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const prefix = mkdtempSync(join(tmpdir(), 'tidings-nginx-'));
    const port = await freePort();
    const config = readFileSync(TEMPLATE, 'utf8')
      .replaceAll('{{PREFIX}}', prefix)
      .replaceAll('{{LISTEN_PORT}}', String(port))
      .replace(/^( *)\{\{UPSTREAM_SERVERS\}\}$/m, `$1${servers}`)
      .replaceAll('{{SSE_PROXY_CONF}}', SSE_PROXY_CONF);
    const configPath = join(prefix, 'nginx.conf');
    writeFileSync(configPath, config);
    const child = spawn(
      nginx,
      ['-p', prefix, '-c', configPath, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const errorLog = () => {
      let log = stderr;
      try {
        log += readFileSync(join(prefix, 'error.log'), 'utf8');
      } catch {
        // not written yet
      }
      return log;
    };
    const stop = async () => {
      await stopProcess(child);
      rmSync(prefix, { recursive: true, force: true });
    };
    if (await listening(port, child)) return { port, errorLog, stop };
    lastError = new Error(`nginx did not start on port ${port}:\n${errorLog()}`);
    await stop();
  }
  throw lastError;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls until the port accepts connections; false if nginx exits or 5 s pass first. */
async function listening(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // SIGQUIT would wait for open event streams to end; SIGTERM is nginx's fast shutdown.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
