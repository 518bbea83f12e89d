import { fileURLToPath } from 'node:url';
import { RpcChild } from '@tidings/hub/load';
import type { SystemUnderTest } from '../load/system-under-test.js';
import type { PublishResult, ServerReady, ServerRequest, ServerStats } from './messages.js';
import type { PublishMode } from './publish-loop.js';

/** The Node servers compared by `bench:server`, each a module under ./servers/. */
export const NODE_SERVERS = {
  tidings: '@tidings/server Channel',
  'better-sse': 'better-sse Channel',
  'node-http': 'hand-written node:http loop',
} as const;
export type NodeServerName = keyof typeof NODE_SERVERS;

/**
 * Starts one server under test in its own Node process (with `--expose-gc` so memory is
 * measured after a full collection, plus any extra flags such as `--cpu-prof`).
 */
export async function startNodeServer(
  name: NodeServerName,
  options: { mode: PublishMode; execArgv?: string[] },
): Promise<SystemUnderTest> {
  const execArgv = options.execArgv ?? [];
  const modulePath = fileURLToPath(new URL(`./servers/${name}.js`, import.meta.url));
  const child = new RpcChild<ServerRequest>(modulePath, [], ['--expose-gc', ...execArgv]);
  const port = await new Promise<number>((resolve, reject) => {
    child.child.on('message', (message: Partial<ServerReady>) => {
      if (message.ready === true && message.port !== undefined) resolve(message.port);
    });
    child.child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
  });
  return {
    name: NODE_SERVERS[name],
    target: { host: '127.0.0.1', port, path: '/events' },
    publish: (rate, durationMs) =>
      child.request<PublishResult>({ op: 'publish', rate, durationMs, mode: options.mode }),
    publishMarker: async (marker) => {
      await child.request({ op: 'publish-marker', marker });
    },
    rssBytes: async () => (await child.request<ServerStats>({ op: 'stats', gc: true })).rssBytes,
    // The child exits normally on disconnect, so a `--cpu-prof` profile gets written.
    stop: () => child.stop(10_000),
  };
}
