import { listen } from '@tidings/client/listen';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeStartedServers,
  eventStreamHeaders,
  startServer,
  type TestServer,
} from './support/http-server.js';

afterEach(closeStartedServers);

function serveOnce(body: string): Promise<TestServer> {
  return startServer((_request, response) => {
    response.writeHead(200, eventStreamHeaders);
    response.end(body);
  });
}

/** Collects what listen writes. */
function capture(isTTY: boolean): { write(text: string): void; isTTY: boolean; text: string } {
  return {
    isTTY,
    text: '',
    write(text) {
      this.text += text;
    },
  };
}

const TIME = /\d\d:\d\d:\d\d\.\d\d\d/g;
const BODY = 'id: 7\nevent: ping\ndata: {"n":1}\n\ndata: line 1\ndata: line 2\n\ndata:\n\n';

describe('listen()', () => {
  it('prints each event: time, type, id, then the data indented; connection notes too', async () => {
    const server = await serveOnce(BODY);
    const output = capture(false);
    // A one-shot stream: a POST is not sent again, so listen returns when it ends.
    await listen(server.url, { output, method: 'POST', body: 'go' });
    expect(output.text.replace(TIME, 'T')).toBe(
      [
        `T connected to ${server.url} (200 text/event-stream)`,
        'T ping #7',
        '  {"n":1}',
        'T message #7',
        '  line 1',
        '  line 2',
        'T message #7',
        '  (empty)',
        'T stream ended',
        '',
      ].join('\n'),
    );
    expect(output.text).not.toContain('\u001b[');
  });

  it('colours a terminal, unless NO_COLOR is set', async () => {
    const server = await serveOnce(BODY);
    const tty = capture(true);
    await listen(server.url, { output: tty, method: 'POST' });
    expect(tty.text).toContain('\u001b[35m\u001b[1mping\u001b[22m\u001b[39m');

    const previous = process.env.NO_COLOR;
    process.env.NO_COLOR = '1';
    try {
      const noColor = capture(true);
      await listen(server.url, { output: noColor, method: 'POST' });
      expect(noColor.text).not.toContain('\u001b[');
      // An explicit choice still wins.
      const forced = capture(false);
      await listen(server.url, { output: forced, method: 'POST', color: true });
      expect(forced.text).toContain('\u001b[');
    } finally {
      if (previous === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = previous;
    }
  });

  it('writes one JSON object per event for scripts, and nothing else', async () => {
    const server = await serveOnce(BODY);
    const output = capture(true);
    await listen(server.url, { output, method: 'POST', format: 'json' });
    expect(
      output.text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { type: 'ping', data: '{"n":1}', lastEventId: '7' },
      { type: 'message', data: 'line 1\nline 2', lastEventId: '7' },
      { type: 'message', data: '', lastEventId: '7' },
    ]);
  });

  it('stops when the signal aborts, and closes the request', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, eventStreamHeaders);
      response.write('data: tick\n\n');
    });
    const controller = new AbortController();
    const output = capture(false);
    const done = listen(server.url, { output, signal: controller.signal });
    await server.waitForRequests(1);
    while (!output.text.includes('tick')) await new Promise((resolve) => setTimeout(resolve, 1));
    controller.abort();
    await done;
    await server.requests[0]?.closed;
    expect(output.text).toMatch(/stream ended\n$/);
  });

  it('refuses an unknown format before connecting', async () => {
    const output = capture(false);
    await expect(
      listen('http://127.0.0.1:9/', { output, format: 'yaml' as 'json' }),
    ).rejects.toThrow(/format must be 'pretty' or 'json', got "yaml"/);
    expect(output.text).toBe('');
  });

  it('prints the error that ended the stream, then rejects with it', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(403, { 'Content-Type': 'text/plain' });
      response.end('topic not allowed');
    });
    const output = capture(false);
    await expect(listen(server.url, { output })).rejects.toThrow(/HTTP 403 Forbidden/);
    expect(output.text.replace(TIME, 'T')).toBe(
      `T HTTP 403 Forbidden from ${server.url}: topic not allowed\n`,
    );
  });
});
