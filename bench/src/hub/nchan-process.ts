import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { track } from '@tidings/hub/load';
import { childPids, processRssBytes } from '../load/process-memory.js';
import type { SystemUnderTest } from '../load/system-under-test.js';
import { Publisher } from './publisher-client.js';

/** Where Debian's libnginx-mod-nchan puts the module (`dpkg -L libnginx-mod-nchan`). */
export const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

/** The nginx binary on PATH or in the usual sbin directories. */
export function findNginx(): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/sbin',
  ];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, 'nginx'), constants.X_OK);
      return join(dir, 'nginx');
    } catch {
      // not here
    }
  }
  return undefined;
}

export function nchanAvailable(nginx: string | undefined): string | undefined {
  if (nginx === undefined) return 'nginx not found (apt-get install nginx)';
  if (!existsSync(NCHAN_MODULE))
    return `${NCHAN_MODULE} not found (apt-get install libnginx-mod-nchan)`;
  return undefined;
}

/**
 * nchan as its documentation sets it up for a pub/sub channel: one nginx worker, an
 * EventSource subscriber location and a publisher location on one channel id. New
 * subscribers start at the newest message, as the hub's do without Last-Event-ID.
 */
function config(prefix: string, port: number): string {
  return `load_module ${NCHAN_MODULE};
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events {
    worker_connections 19500;
    use epoll;
}
http {
    access_log off;
    client_body_temp_path ${prefix}/client_body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;
    server {
        listen 127.0.0.1:${port} backlog=4096;
        location = /sub {
            nchan_subscriber eventsource;
            nchan_channel_id bench;
            nchan_subscriber_first_message newest;
        }
        location = /pub {
            nchan_publisher;
            nchan_channel_id bench;
        }
    }
}
`;
}

export async function startNchan(nginx: string): Promise<SystemUnderTest> {
  const prefix = mkdtempSync(join(tmpdir(), 'tidings-bench-nchan-'));
  const port = await freePort();
  const configPath = join(prefix, 'nginx.conf');
  writeFileSync(configPath, config(prefix, port));
  const master = track(
    spawn(
      nginx,
      ['-p', prefix, '-c', configPath, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    ),
  );
  await waitForPort(port, master);
  const worker = await workerPid(master.pid!);
  const publisher = new Publisher({
    host: '127.0.0.1',
    port,
    path: '/pub',
    headers: {},
    format: 'raw',
    topic: 'bench',
  });
  return {
    name: 'nchan (nginx, 1 worker)',
    target: { host: '127.0.0.1', port, path: '/sub' },
    publish: (rate, durationMs) => publisher.publish(rate, durationMs),
    publishMarker: (marker) => publisher.publishMarker(marker),
    // The worker holds the connections; the master's memory does not change with them.
    rssBytes: async () => processRssBytes(worker),
    stop: async () => {
      await publisher.stop();
      await stopProcess(master);
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

async function workerPid(masterPid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const children = childPids(masterPid);
    if (children.length > 0) return children[0]!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the nginx worker did not start');
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

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`nginx exited (${child.exitCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nginx did not listen on ${port} within 10 s`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
