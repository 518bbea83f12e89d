import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { ChunkedSocketSink, directSocket } from './chunked-socket-sink.js';
import { createCompressor, negotiateCoding } from './compression.js';
import { NodeSink, NodeSinkFlags, type NodeWritable } from './node-sink.js';
import type { Sink, SinkListener } from './sink.js';
import { type HttpVersion, sseHeaders } from './sse-headers.js';
import type { StreamConfig } from './stream-config.js';

const EMPTY_CHUNK = new Uint8Array(0);

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

function httpVersion(req: NodeRequest): HttpVersion {
  if (req.httpVersionMajor === 2) return 'h2';
  return req.httpVersionMinor >= 1 ? 'http/1.1' : 'http/1.0';
}

/**
 * Opens an event stream on a node:http response or a node:http2 compatibility response:
 * sends the head at once (with the initial `retry:` when configured) and returns the sink.
 * Headers set earlier with `res.setHeader()` (by CORS middleware, say) are kept.
 *
 * An uncompressed HTTP/1.1 body is written straight to the socket after the head
 * ({@link ChunkedSocketSink}); HTTP/2, compression, HTTP/1.0 and responses whose `write` is
 * wrapped by middleware go through the response ({@link NodeSink}).
 */
export function openNodeResponse(
  req: NodeRequest,
  res: NodeResponse,
  config: StreamConfig,
  listener: SinkListener,
): Sink {
  if (res.headersSent) {
    throw new Error(
      'EventStream.fromNode: the response head was already sent; create the EventStream before anything is written to the response',
    );
  }
  const version = httpVersion(req);
  const gone =
    (res as ServerResponse).destroyed === true ||
    (res as Http2ServerResponse).stream?.destroyed === true ||
    req.socket?.destroyed === true;
  const coding = config.compression ? negotiateCoding(req.headers['accept-encoding']) : undefined;
  const compressor = coding !== undefined && !gone ? createCompressor(coding) : undefined;
  const flags =
    typeof (res as { flush?: unknown }).flush === 'function'
      ? NodeSinkFlags.FlushAfterWrite
      : NodeSinkFlags.None;
  if (!gone) {
    const headers = sseHeaders(
      version,
      config.headers,
      compressor === undefined ? undefined : coding,
      config.compression,
    );
    (res as ServerResponse).writeHead(config.status, headers);
    // RFC 9110 §9.3.2: "The server SHOULD send the same header fields in response to a HEAD
    // request as it would have sent if the request method had been GET", and no content.
    // Node drops body writes to a HEAD response without sending its head, so the head goes
    // out with end(), and the stream is closed from the start (as if the client had left).
    if (req.method === 'HEAD') {
      (res as ServerResponse).end();
      return new NodeSink(res as unknown as NodeWritable, listener, compressor, flags, true);
    }
    // Events are small and must leave at once: Nagle's algorithm would hold one back while
    // the previous one is unacknowledged.
    if (version !== 'h2') req.socket?.setNoDelay?.(true);
  }
  if (gone) return new NodeSink(res as unknown as NodeWritable, listener, undefined, flags, true);
  // Not flushHeaders(): it sends the head as UTF-8, so a header value holding bytes above
  // 0x7F (an echoed non-ASCII Last-Event-ID) would arrive double-encoded. An empty write
  // sends the head as latin1, byte for byte, like every other write.
  (res as ServerResponse).write(EMPTY_CHUNK);
  const socket =
    version === 'h2' || compressor !== undefined || flags !== NodeSinkFlags.None
      ? undefined
      : directSocket(res as ServerResponse);
  const sink: Sink =
    socket === undefined
      ? new NodeSink(res as unknown as NodeWritable, listener, compressor, flags, false)
      : new ChunkedSocketSink(socket, listener, res as ServerResponse);
  if (config.retryChunk !== undefined) sink.write(config.retryChunk);
  return sink;
}
