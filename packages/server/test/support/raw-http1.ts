import net from 'node:net';

/** One HTTP/1.x response as it came off the wire, with its chunked body taken apart. */
export interface RawResponse {
  /** The status line and header lines, as sent. */
  head: string;
  /** Each chunk's data, in order; for a body that is not chunked, the whole body so far. */
  chunks: Buffer[];
  /** True once the last-chunk (`0\r\n\r\n`) arrived. */
  terminated: boolean;
  /** Bytes after the terminated body: the next response on the connection. */
  rest: Buffer;
}

/**
 * Reads one response from `bytes` strictly by RFC 9112: a chunk size line must be hex digits
 * and CRLF, and the chunk's data must be followed by CRLF, else this throws. Returns undefined
 * while the head is incomplete.
 */
export function readResponse(bytes: Buffer): RawResponse | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const head = bytes.subarray(0, headEnd).toString('latin1');
  let at = headEnd + 4;
  if (!/^transfer-encoding: chunked$/im.test(head)) {
    return { head, chunks: [bytes.subarray(at)], terminated: false, rest: Buffer.alloc(0) };
  }
  const chunks: Buffer[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) return { head, chunks, terminated: false, rest: Buffer.alloc(0) };
    const sizeLine = bytes.subarray(at, lineEnd).toString('latin1');
    if (!/^[0-9a-f]+$/i.test(sizeLine))
      throw new Error(`bad chunk size line ${JSON.stringify(sizeLine)}`);
    const size = Number.parseInt(sizeLine, 16);
    const dataStart = lineEnd + 2;
    if (size === 0) {
      if (bytes.length < dataStart + 2)
        return { head, chunks, terminated: false, rest: Buffer.alloc(0) };
      if (bytes.subarray(dataStart, dataStart + 2).toString('latin1') !== '\r\n') {
        throw new Error('the last-chunk is not followed by CRLF');
      }
      return { head, chunks, terminated: true, rest: bytes.subarray(dataStart + 2) };
    }
    if (bytes.length < dataStart + size + 2) {
      return { head, chunks, terminated: false, rest: Buffer.alloc(0) };
    }
    if (bytes.subarray(dataStart + size, dataStart + size + 2).toString('latin1') !== '\r\n') {
      throw new Error(`chunk of ${size} bytes is not followed by CRLF`);
    }
    chunks.push(bytes.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}

/** A plain TCP client that keeps every byte it receives. */
export class RawClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  ended = false;
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Resolves with `read(received)` once it is not undefined; rejects after `timeoutMs`. */
  async until<T>(
    read: (bytes: Buffer) => T | undefined,
    what: string,
    timeoutMs = 5000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = read(this.received);
      if (value !== undefined) return value;
      if (this.ended) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}

export const GET_EVENTS = 'GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';
