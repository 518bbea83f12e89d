import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ChunkedSocketSink } from './chunked-socket-sink.js';
import type { Sink, SinkListener } from './sink.js';
import { sseHeaders } from './sse-headers.js';
import type { StreamConfig } from './stream-config.js';

/** The request, as read by whoever parsed its head: header names in lower case. */
export interface SocketRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** RFC 9110 §5.1: `field-name = token`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5: visible characters, spaces and tabs, obs-text; never CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function destroyOnError(this: Socket): void {
  this.destroy();
}

/** A stream whose client left before its head could be sent: nothing is written. */
const GONE: Sink = {
  gone: true,
  bufferedBytes: 0,
  write: () => false,
  end() {},
  destroy() {},
};

/**
 * Opens an event stream on a connection whose HTTP/1.1 request head the caller read itself
 * (a `node:net` server, or a server that hands such connections over): writes the response
 * head — the stream's headers, `extraHeaders`, `Date`, chunked transfer coding — and returns
 * the sink that owns the connection from then on (see {@link ChunkedSocketSink}).
 *
 * @throws TypeError for a header name or value that cannot go on the wire (CR, LF, NUL,
 *   characters above U+00FF), or when compression is asked for (it needs node:http).
 */
export function openSocketResponse(
  socket: Socket,
  request: SocketRequest,
  config: StreamConfig,
  listener: SinkListener,
  extraHeaders: Readonly<Record<string, string>> | undefined,
): Sink {
  if (config.compression) {
    throw new TypeError(
      'EventStream.fromSocket: compression is not available on a bare connection; use EventStream.fromNode',
    );
  }
  const headers = sseHeaders('http/1.1', config.headers, undefined, false);
  if (extraHeaders !== undefined) {
    for (const name of Object.keys(extraHeaders)) {
      headers[name.toLowerCase()] = extraHeaders[name] as string;
    }
  }
  // The connection ends with the stream: said so, a proxy keeping upstream connections
  // (nginx `keepalive`) does not pool this one for another request.
  headers.connection = 'close';
  const head = responseHead(config.status, headers);
  if (socket.destroyed) return GONE;
  // Half-closed by us already: nothing can be answered on it any more.
  if (!socket.writable) {
    socket.destroy();
    return GONE;
  }
  // RFC 9110 §9.3.2: the same head as for GET, and no content: the connection ends with it.
  // Nobody else listens to it from now on: a reset must not be an unhandled 'error'.
  if (request.method === 'HEAD') {
    socket.on('error', destroyOnError);
    socket.end(head);
    return GONE;
  }
  // Events are small and must leave at once: Nagle's algorithm would hold one back while the
  // previous one is unacknowledged.
  socket.setNoDelay(true);
  socket.write(head);
  const sink = new ChunkedSocketSink(socket, listener);
  if (config.retryChunk !== undefined) sink.write(config.retryChunk);
  return sink;
}

/** The status line and header section, as latin1 bytes (header values are byte strings). */
function responseHead(status: number, headers: Record<string, string>): Uint8Array {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const name of Object.keys(headers)) {
    // The framing is ours: a caller's Content-Length or Transfer-Encoding would contradict it.
    if (name === 'content-length' || name === 'transfer-encoding') continue;
    const value = String(headers[name]);
    if (!TOKEN.test(name)) {
      throw new TypeError(`EventStream.fromSocket: invalid header name ${JSON.stringify(name)}`);
    }
    if (!FIELD_VALUE.test(value)) {
      throw new TypeError(
        `EventStream.fromSocket: invalid value for header "${name}" (CR, LF, NUL or a character above U+00FF)`,
      );
    }
    head += `${name}: ${value}\r\n`;
  }
  if (headers.date === undefined) head += `date: ${new Date().toUTCString()}\r\n`;
  head += 'transfer-encoding: chunked\r\n';
  return Buffer.from(`${head}\r\n`, 'latin1');
}
