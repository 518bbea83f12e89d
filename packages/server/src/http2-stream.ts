import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { createCompressor, negotiateCoding } from './compression.js';
import { NodeSink, NodeSinkFlags, type NodeWritable } from './node-sink.js';
import type { SinkListener } from './sink.js';
import { sseHeaders } from './sse-headers.js';
import type { StreamConfig } from './stream-config.js';

/**
 * Opens an event stream on a core node:http2 stream (`server.on('stream', ...)`): responds
 * with the head at once and returns the sink. A client's RST_STREAM closes the stream; the
 * server tears it down with RST_STREAM CANCEL. Other streams of the connection go on.
 */
export function openHttp2Stream(
  stream: ServerHttp2Stream,
  requestHeaders: IncomingHttpHeaders,
  config: StreamConfig,
  listener: SinkListener,
): NodeSink {
  if (stream.headersSent) {
    throw new Error(
      'EventStream.fromHttp2Stream: the response headers were already sent; create the EventStream before responding',
    );
  }
  const gone = stream.destroyed || stream.closed;
  const coding = config.compression
    ? negotiateCoding(requestHeaders['accept-encoding'])
    : undefined;
  const compressor = coding !== undefined && !gone ? createCompressor(coding) : undefined;
  if (!gone) {
    const headers = sseHeaders(
      'h2',
      config.headers,
      compressor === undefined ? undefined : coding,
      config.compression,
    );
    stream.respond({ ':status': config.status, ...headers });
  }
  const sink = new NodeSink(
    stream as unknown as NodeWritable,
    listener,
    compressor,
    NodeSinkFlags.Http2Stream,
    gone,
  );
  if (!gone && config.retryChunk !== undefined) sink.write(config.retryChunk);
  return sink;
}
