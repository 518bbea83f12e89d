import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

type NodeServer = ReturnType<typeof serve>;

const open = new Set<NodeServer>();

/**
 * Serves a Fetch handler from Node (through @hono/node-server, as a Hono or plain Fetch app
 * runs there) on 127.0.0.1, on a free port; resolves with the base URL.
 * `closeFetchServers()` in an `afterEach` closes every server this file started.
 */
export async function serveFetch(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { http2?: boolean } = {},
): Promise<string> {
  let ready!: () => void;
  const listening = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const server = serve(
    {
      fetch,
      port: 0,
      hostname: '127.0.0.1',
      ...(options.http2 ? { createServer: http2.createServer } : {}),
    },
    () => ready(),
  );
  open.add(server);
  await listening;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Closes every server `serveFetch` started, cutting HTTP/1.1 connections (event streams never
 * end by themselves).
 */
export async function closeFetchServers(): Promise<void> {
  const servers = [...open];
  open.clear();
  await Promise.all(
    servers.map(async (server) => {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    }),
  );
}
