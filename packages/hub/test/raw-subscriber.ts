import { connect, type Socket } from 'node:net';
import { createParser, type ServerSentEvent } from '@tidings/protocol';

/**
 * A subscriber on a raw TCP socket: the request is written by hand and the response read
 * byte for byte (chunked transfer coding decoded here), so tests see exactly what the hub
 * puts on the wire — status line, headers, comments, `retry:` fields — with nothing in
 * between that could be lenient for it.
 */
export class RawSubscriber {
  readonly events: ServerSentEvent[] = [];
  readonly comments: string[] = [];
  readonly retries: number[] = [];
  status = 0;
  headers: Record<string, string> = {};
  /** The raw body (after de-chunking), as text. */
  body = '';
  ended = false;
  readonly #socket: Socket;
  readonly #parser = createParser({
    onEvent: (event) => this.events.push(event),
    onComment: (text) => this.comments.push(text),
    onRetry: (ms) => this.retries.push(ms),
  });
  #head = Buffer.alloc(0);
  #inBody = false;
  #chunked = false;
  #chunkBuffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  readonly #ended: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (data: Buffer) => this.#onData(data));
    this.#ended = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        this.#notify();
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  /** Opens `GET path` on the hub at `port` (127.0.0.1) with the given headers. */
  static open(
    port: number,
    path: string,
    headers: Record<string, string> = {},
    options: { localAddress?: string; method?: string } = {},
  ): RawSubscriber {
    const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
    const lines = [
      `${options.method ?? 'GET'} ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Accept: text/event-stream',
    ];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    return new RawSubscriber(socket);
  }

  /** Resolves when the response head has arrived. */
  async opened(timeoutMs = 5000): Promise<this> {
    await this.until(() => this.status !== 0 || this.ended, timeoutMs, 'response head');
    return this;
  }

  /** Resolves once `count` events arrived. */
  async eventCount(count: number, timeoutMs = 5000): Promise<ServerSentEvent[]> {
    await this.until(() => this.events.length >= count, timeoutMs, `${count} events`);
    return this.events;
  }

  /** Resolves when the hub ended the response (last chunk) or closed the connection. */
  async closed(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.ended, timeoutMs, 'the response to end');
  }

  async until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}; status ${this.status}, ${this.events.length} events, ended ${this.ended}, body so far: ${JSON.stringify(this.body.slice(-500))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Stops reading: the hub's writes back up as they would behind a stalled client. */
  pause(): void {
    this.#socket.pause();
  }

  close(): Promise<void> {
    this.#socket.destroy();
    return this.#ended;
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }

  #onData(data: Buffer): void {
    if (!this.#inBody) {
      this.#head = Buffer.concat([this.#head, data]);
      const end = this.#head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine, ...headerLines] = this.#head
        .subarray(0, end)
        .toString('latin1')
        .split('\r\n');
      this.status = Number(statusLine!.split(' ')[1]);
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        this.headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      this.#chunked = this.headers['transfer-encoding'] === 'chunked';
      this.#inBody = true;
      data = this.#head.subarray(end + 4);
    }
    if (this.#chunked) this.#dechunk(data);
    else this.#body(data);
    this.#notify();
  }

  #dechunk(data: Buffer): void {
    this.#chunkBuffer = Buffer.concat([this.#chunkBuffer, data]);
    for (;;) {
      const lineEnd = this.#chunkBuffer.indexOf('\r\n');
      if (lineEnd === -1) return;
      const size = Number.parseInt(this.#chunkBuffer.subarray(0, lineEnd).toString('latin1'), 16);
      if (this.#chunkBuffer.length < lineEnd + 2 + size + 2) return;
      this.#body(this.#chunkBuffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      this.#chunkBuffer = this.#chunkBuffer.subarray(lineEnd + 2 + size + 2);
      if (size === 0) {
        // The last chunk: the response is complete even if the connection is kept alive.
        this.ended = true;
        return;
      }
    }
  }

  #body(bytes: Buffer): void {
    this.body += bytes.toString('utf8');
    this.#parser.feed(new Uint8Array(bytes));
  }
}
