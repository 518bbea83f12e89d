import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RpcChild, track } from '@tidings/hub/load';
import { Publisher } from '../hub/publisher-client.js';
import { processRssBytes } from '../load/process-memory.js';
import type { SystemUnderTest } from '../load/system-under-test.js';
import type { ServerReady, ServerRequest, ServerStats } from '../server/messages.js';
import type { PublishMode } from '../server/publish-loop.js';

/**
 * The two floors under bench:server and bench:hub: the smallest servers that put the same
 * bytes on the wire, to show what a delivery costs the machine (C, bench/c/sse-floor.c) and
 * a Node process (`net`, net-floor.ts) before any HTTP or SSE library is involved.
 *
 * How events reach them follows the benchmark they sit in:
 * - `in-process` (bench:server): the floor publishes on its own timer, as a Channel does;
 * - `http` (bench:hub): bench:hub's publisher process POSTs each update's data, as it does to
 *   nchan, and latency includes that request.
 */
export type FloorPublishing = 'in-process' | 'http';

export const C_FLOOR_LABEL = 'C epoll floor (sse-floor.c)';
export const NET_FLOOR_LABEL = 'Node net floor (no node:http)';

const C_SOURCE = fileURLToPath(new URL('../../c/sse-floor.c', import.meta.url));
const NET_FLOOR = fileURLToPath(new URL('./net-floor.js', import.meta.url));

let built: string | undefined;

/** Why the C floor cannot run here, or undefined when gcc is there. */
export function cFloorProblem(): string | undefined {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'gcc not found (apt-get install gcc)';
  }
}

/** Compiles the C floor once per benchmark run, into a fresh temporary directory. */
function buildCFloor(): string {
  if (built === undefined) {
    const binary = join(mkdtempSync(join(tmpdir(), 'tidings-sse-floor-')), 'sse-floor');
    execFileSync('gcc', ['-O2', '-Wall', '-o', binary, C_SOURCE], { stdio: 'inherit' });
    built = binary;
  }
  return built;
}

function httpPublisher(port: number): Publisher {
  return new Publisher({
    host: '127.0.0.1',
    port,
    path: '/pub',
    headers: {},
    format: 'raw',
    topic: 'floor',
  });
}

/** Lines the C floor prints, handed out in order to whoever asked first. */
class LineReader {
  readonly #waiters: ((line: string) => void)[] = [];
  readonly #lines: string[] = [];

  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.#lines.push(line);
      else waiter(line);
    });
  }

  next(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

export async function startCFloor(publishing: FloorPublishing): Promise<SystemUnderTest> {
  const child = track(spawn(buildCFloor(), [], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const lines = new LineReader(child);
  const exited = once(child, 'exit');
  const first = await Promise.race([lines.next(), exited.then(([code]) => `exited ${code}`)]);
  const match = /^listening (\d+)$/.exec(first);
  if (match === null) throw new Error(`the C floor did not start: ${first}`);
  const port = Number(match[1]);
  const publisher = publishing === 'http' ? httpPublisher(port) : undefined;
  // One command at a time: the answers come back in order on stdout.
  const command = async (text: string): Promise<string> => {
    const answer = lines.next();
    child.stdin!.write(`${text}\n`);
    return answer;
  };
  return {
    name: C_FLOOR_LABEL,
    target: { host: '127.0.0.1', port, path: '/events' },
    publish: async (rate, durationMs) => {
      if (publisher !== undefined) return publisher.publish(rate, durationMs);
      const answer = /^published (\d+) ([\d.]+)$/.exec(
        await command(`publish ${rate} ${durationMs}`),
      );
      if (answer === null) throw new Error('the C floor did not report its publishing');
      return { published: Number(answer[1]), elapsedMs: Number(answer[2]) };
    },
    publishMarker: async (marker) => {
      if (publisher !== undefined) await publisher.publishMarker(marker);
      else await command(`marker ${marker}`);
    },
    rssBytes: async () => processRssBytes(child.pid!),
    stop: async () => {
      await publisher?.stop();
      if (child.exitCode !== null || child.signalCode !== null) return;
      // The floor exits when its stdin closes.
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startNetFloor(
  publishing: FloorPublishing,
  options: { mode?: PublishMode; execArgv?: string[] } = {},
): Promise<SystemUnderTest> {
  const child = new RpcChild<ServerRequest>(
    NET_FLOOR,
    [],
    ['--expose-gc', ...(options.execArgv ?? [])],
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.child.on('message', (message: Partial<ServerReady>) => {
      if (message.ready === true && message.port !== undefined) resolve(message.port);
    });
    child.child.once('exit', (code) => reject(new Error(`the net floor exited with ${code}`)));
  });
  const publisher = publishing === 'http' ? httpPublisher(port) : undefined;
  const mode = options.mode ?? 'separate';
  return {
    name: NET_FLOOR_LABEL,
    target: { host: '127.0.0.1', port, path: '/events' },
    publish: (rate, durationMs) =>
      publisher !== undefined
        ? publisher.publish(rate, durationMs)
        : child.request({ op: 'publish', rate, durationMs, mode }),
    publishMarker: async (marker) => {
      if (publisher !== undefined) await publisher.publishMarker(marker);
      else await child.request({ op: 'publish-marker', marker });
    },
    rssBytes: async () => (await child.request<ServerStats>({ op: 'stats', gc: true })).rssBytes,
    stop: async () => {
      await publisher?.stop();
      await child.stop(10_000);
    },
  };
}
