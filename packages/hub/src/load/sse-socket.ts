import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { createParser, type EventStreamParser } from '@tidings/protocol';

const LF = 10;
const CR = 13;
const HEAD_END = Buffer.from('\r\n\r\n');
/** A response head larger than this is not an SSE server talking to us. */
const MAX_HEAD_BYTES = 64 * 1024;

/** Where to connect and what to ask for. */
export interface SseTarget {
  host: string;
  port: number;
  /** Request target, e.g. `/events` or `/.well-known/mercure?topic=bench`. */
  path: string;
  headers?: Record<string, string>;
  /** HTTPS: TLS around the same HTTP/1.1 request (ALPN http/1.1). */
  tls?: {
    /** Accept a certificate no trusted authority signed (a self-signed test hub). */
    insecure?: boolean;
    /** Name checked against the certificate when `host` is an address. */
    servername?: string;
  };
}

/** What a connection reports to whoever holds it; one object shared by all connections. */
export interface SseSocketSink {
  /** The response head arrived: status 200 with a `text/event-stream` content type. */
  open(connection: SseSocket): void;
  /** One dispatched event. `data` is the event's data exactly as the parser produced it. */
  event(connection: SseSocket, data: string): void;
  /** The socket is gone. `reason` is '' when it was opened and then closed by us. */
  close(connection: SseSocket, reason: string, wasOpen: boolean): void;
}

enum BodyState {
  Head,
  Identity,
  ChunkSize,
  ChunkSizeExtension,
  ChunkData,
  ChunkDataEnd,
  Done,
}

/**
 * One SSE subscription over a raw TCP socket: a hand-written HTTP/1.1 GET, the response head
 * checked, the body un-chunked and fed to @tidings/protocol's parser.
 *
 * No `node:http` on purpose: its per-response machinery costs more than the server under
 * test spends on a delivery, and the load client must not be what limits a benchmark.
 * `localAddress` spreads connections over 127.0.0.x so that tens of thousands of them do not
 * run out of ephemeral ports on one source address.
 */
export class SseSocket {
  /** Events this connection has dispatched. */
  events = 0;
  /** Set by the holder: when this connection saw the marker it is waiting for (µs), or 0. */
  markerAt = 0;
  isOpen = false;
  private readonly socket: Socket;
  private readonly parser: EventStreamParser;
  private state = BodyState.Head;
  private head: Buffer | undefined;
  private chunkRemaining = 0;
  private closed = false;

  constructor(
    target: SseTarget,
    localAddress: string | undefined,
    private readonly sink: SseSocketSink,
  ) {
    this.parser = createParser({ onEvent: (event) => sink.event(this, event.data) });
    const options = {
      host: target.host,
      port: target.port,
      ...(localAddress === undefined ? {} : { localAddress }),
      noDelay: true,
    };
    if (target.tls === undefined) {
      this.socket = connect(options);
      this.socket.on('connect', () => this.socket.write(requestText(target)));
    } else {
      this.socket = connectTls({
        ...options,
        ALPNProtocols: ['http/1.1'],
        rejectUnauthorized: target.tls.insecure !== true,
        ...(target.tls.servername === undefined ? {} : { servername: target.tls.servername }),
      });
      this.socket.on('secureConnect', () => this.socket.write(requestText(target)));
    }
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error: NodeJS.ErrnoException) =>
      this.finish(error.code ?? error.message),
    );
    this.socket.on('close', () => this.finish(this.isOpen ? 'closed by server' : 'no response'));
  }

  /** Closes the socket from our side; `reason` is reported when it had not opened yet. */
  destroy(reason = ''): void {
    this.finish(reason);
    this.socket.destroy();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const wasOpen = this.isOpen;
    this.isOpen = false;
    this.socket.destroy();
    this.sink.close(this, reason, wasOpen);
  }

  private fail(reason: string): void {
    this.finish(reason);
  }

  private onData(input: Buffer): void {
    let buf = input;
    let pos = 0;
    if (this.state === BodyState.Head) {
      buf = this.head === undefined ? input : Buffer.concat([this.head, input]);
      const end = buf.indexOf(HEAD_END);
      if (end === -1) {
        if (buf.length > MAX_HEAD_BYTES) this.fail('response head too large');
        else this.head = buf;
        return;
      }
      this.head = undefined;
      const problem = this.readHead(buf.toString('latin1', 0, end));
      if (problem !== undefined) {
        this.fail(problem);
        return;
      }
      pos = end + HEAD_END.length;
      this.isOpen = true;
      this.sink.open(this);
    }
    this.readBody(buf, pos);
  }

  /** Checks the response head and picks the body framing; returns why it is refused, if it is. */
  private readHead(head: string): string | undefined {
    const lines = head.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (status === null) return `not an HTTP/1.x response: ${JSON.stringify(lines[0])}`;
    if (status[1] !== '200') return `status ${status[1]}`;
    let contentType = '';
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon === -1) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-type') contentType = value;
      else if (name === 'transfer-encoding')
        chunked = value.split(',').some((v) => v.trim() === 'chunked');
    }
    if (!contentType.startsWith('text/event-stream'))
      return `content type ${contentType || 'missing'}`;
    this.state = chunked ? BodyState.ChunkSize : BodyState.Identity;
    return undefined;
  }

  /** Un-chunks what arrived and feeds the parser. Chunk boundaries may fall anywhere. */
  private readBody(buf: Buffer, start: number): void {
    let pos = start;
    const length = buf.length;
    while (pos < length) {
      switch (this.state) {
        case BodyState.Identity:
          this.parser.feed(pos === 0 ? buf : buf.subarray(pos));
          return;
        case BodyState.ChunkSize: {
          const c = buf[pos]!;
          pos++;
          const digit = hexValue(c);
          if (digit >= 0) {
            this.chunkRemaining = this.chunkRemaining * 16 + digit;
          } else if (c === LF) {
            this.endChunkSize();
          } else if (c !== CR) {
            // A chunk extension (`;name=value`): ignored up to the line end.
            this.state = BodyState.ChunkSizeExtension;
          }
          break;
        }
        case BodyState.ChunkSizeExtension: {
          const lf = buf.indexOf(LF, pos);
          if (lf === -1) return;
          pos = lf + 1;
          this.endChunkSize();
          break;
        }
        case BodyState.ChunkData: {
          const take = Math.min(this.chunkRemaining, length - pos);
          this.parser.feed(buf.subarray(pos, pos + take));
          pos += take;
          this.chunkRemaining -= take;
          if (this.chunkRemaining === 0) this.state = BodyState.ChunkDataEnd;
          break;
        }
        case BodyState.ChunkDataEnd:
          // The CRLF after a chunk's data.
          if (buf[pos] === LF) this.state = BodyState.ChunkSize;
          pos++;
          break;
        case BodyState.Head:
        case BodyState.Done:
          return;
      }
    }
  }

  private endChunkSize(): void {
    if (this.chunkRemaining === 0) {
      // The last chunk: the server ended the response.
      this.state = BodyState.Done;
      this.finish('response ended');
      return;
    }
    this.state = BodyState.ChunkData;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function requestText(target: SseTarget): string {
  let text =
    `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n` +
    'Accept: text/event-stream\r\nCache-Control: no-cache\r\n';
  for (const [name, value] of Object.entries(target.headers ?? {})) text += `${name}: ${value}\r\n`;
  return text + '\r\n';
}
