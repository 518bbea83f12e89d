import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventSource } from '@tidings/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type DemoOptions } from '../src/app.js';

const servers: Server[] = [];
const sources: EventSource[] = [];

afterEach(() => {
  for (const source of sources.splice(0)) source.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function start(options: DemoOptions): Promise<string> {
  const server = createApp(options).listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function open(url: string): EventSource {
  const source = new EventSource(url);
  sources.push(source);
  return source;
}

describe('Koa example', () => {
  it('sends the messages as JSON, then the end event, then ends the stream', async () => {
    const url = await start({ intervalMs: 10 });
    const source = open(`${url}/sse?count=3`);
    const messages: { n: number; of: number; time: string }[] = [];
    source.onmessage = (event) => messages.push(JSON.parse(event.data));
    const end = await new Promise<MessageEvent<string>>((resolve) =>
      source.addEventListener('end', (event) => resolve(event as MessageEvent<string>)),
    );
    source.close();
    expect(end.data).toBe('That was the last message.');
    expect(messages.map((m) => [m.n, m.of])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(Number.isNaN(Date.parse(messages[0]!.time))).toBe(false);
  });

  it('closes the response after sendEnd', async () => {
    const url = await start({ intervalMs: 5 });
    const response = await fetch(`${url}/sse?count=2`);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // The body ends: the server closed the response after the end event.
    const body = await response.text();
    expect(body).toMatch(
      /data: \{"n":2,"of":2,"time":"[^"]+"\}\n\nevent: end\ndata: That was the last message.\n\n$/,
    );
  });

  it('turns clients beyond maxClients away with 503 and Retry-After, and admits again when one leaves', async () => {
    const url = await start({ intervalMs: 1000, maxClients: 1 });
    const first = new AbortController();
    const admitted = await fetch(`${url}/sse`, { signal: first.signal });
    expect(admitted.status).toBe(200);

    const refused = await fetch(`${url}/sse`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.text()).toContain('maxClients 1');

    first.abort();
    await expect
      .poll(async () => {
        const again = await fetch(`${url}/sse?count=1`);
        const status = again.status;
        await again.body?.cancel();
        return status;
      })
      .toBe(200);
  });

  it('sends keep-alive comments every pingInterval', async () => {
    const url = await start({ intervalMs: 60_000, pingInterval: 30 });
    const controller = new AbortController();
    const response = await fetch(`${url}/sse`, { signal: controller.signal });
    const reader = response.body!.getReader();
    let text = '';
    while (!/^:/m.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toMatch(/^:.*\n/m);
  });

  it('serves the page that listens for messages and the end event', async () => {
    const url = await start({});
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('new EventSource(`/sse?count=');
    expect(html).toContain("addEventListener('end'");
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
  });
});
