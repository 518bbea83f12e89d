import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { track } from '@tidings/hub/load';
import { childPids, processRssBytes } from '../load/process-memory.js';
import { sleep } from '../load/report.js';
import type { SystemUnderTest } from '../load/system-under-test.js';
import { mintHs256 } from './jwt.js';
import { Publisher } from './publisher-client.js';

const CLI = fileURLToPath(new URL('../../../packages/hub/dist/cli.js', import.meta.url));
const GC_HOOK = new URL('./gc-on-signal.js', import.meta.url).href;
const SECRET = 'tidings-bench-secret-that-is-long-enough-for-hs256';
export const HUB_TOPIC = 'https://example.com/bench';

/**
 * The hub as its users run it: `node packages/hub/dist/cli.js serve`, memory transport,
 * anonymous subscribers, one topic. The only addition is a preloaded SIGUSR2 handler that
 * runs a full GC before memory is read (see gc-on-signal.ts).
 */
export async function startHub(
  extraArgs: string[] = [],
  execArgv: string[] = [],
): Promise<SystemUnderTest & { pid: number }> {
  const child = track(
    spawn(
      process.execPath,
      [
        '--expose-gc',
        `--import=${GC_HOOK}`,
        ...execArgv,
        CLI,
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--jwt-key',
        SECRET,
        '--anonymous',
        '--no-dashboard',
        '--log-level',
        'warn',
        '--log-format',
        'json',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const port = await listeningPort(child);
  const publisher = new Publisher({
    host: '127.0.0.1',
    port,
    path: '/.well-known/mercure',
    headers: { authorization: `Bearer ${mintHs256(SECRET, { mercure: { publish: ['*'] } })}` },
    format: 'mercure',
    topic: HUB_TOPIC,
  });
  return {
    name: '@tidings/hub',
    pid: child.pid!,
    target: {
      host: '127.0.0.1',
      port,
      path: `/.well-known/mercure?topic=${encodeURIComponent(HUB_TOPIC)}`,
    },
    publish: (rate, durationMs) => publisher.publish(rate, durationMs),
    publishMarker: (marker) => publisher.publishMarker(marker),
    // With --workers the hub is a primary and its workers: the RSS of all of them, each after
    // a full GC (the workers inherit the GC hook with the primary's Node flags).
    rssBytes: async () => {
      const pids = [child.pid!, ...childPids(child.pid!)];
      for (const pid of pids) process.kill(pid, 'SIGUSR2');
      await sleep(300);
      return pids.reduce((total, pid) => total + processRssBytes(pid), 0);
    },
    stop: async () => {
      await publisher.stop();
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Reads the port from the CLI's start-up banner ("listening on http://localhost:<port>"),
 * on whichever stream it comes. Both streams stay drained afterwards (so the hub never blocks
 * on a full pipe); warnings and errors are passed on.
 */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    let port: number | undefined;
    const onData = (chunk: Buffer) => {
      if (port !== undefined) {
        if (/"level":[4-6]\d/.test(chunk.toString())) process.stderr.write(chunk);
        return;
      }
      output += chunk.toString();
      const match = /listening on https?:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match !== null) {
        port = Number(match[1]);
        resolve(port);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the hub exited (${code}) before listening:\n${output}`)),
    );
  });
}
