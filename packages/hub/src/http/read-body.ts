import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/**
 * Reads a request body of at most `limit` bytes, arriving within `timeoutMs`.
 *
 * A declared `Content-Length` over the limit is refused before a byte is read; a body that
 * grows past it (chunked, or a lying length) is refused as soon as it does. Either way the
 * rest is discarded rather than buffered, and the answer (413 with `Connection: close`) is
 * sent while a bounded rest is read and dropped, so the client gets to read it (linger.ts).
 *
 * A body still incomplete after `timeoutMs` is refused with 408: without a deadline, a client
 * sending a byte now and then would hold its connection, and the memory of its partial
 * body, for ever. The clock starts when the request head has arrived (the server's headers
 * timeout covers the time before) and stops at the body's end, so it never touches a
 * response that takes long, such as an event stream.
 *
 * @throws HttpError 413, 408, or 400 when the client aborts mid-body.
 */
export function readBody(
  request: IncomingMessage,
  limit: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  assertDeclaredLength(request, limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: HttpError) => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      chunks.length = 0;
      reject(error);
    };
    const timer = setTimeout(() => fail(tooSlow(timeoutMs, size)), timeoutMs);
    request.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) fail(tooLarge(limit));
      else chunks.push(chunk);
    });
    request.on('end', () => {
      if (failed) return;
      clearTimeout(timer);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    request.on('aborted', () =>
      fail(new HttpError(400, 'the request body was cut off before its end')),
    );
    request.on('error', () => fail(new HttpError(400, 'the request body could not be read')));
  });
}

/** @throws HttpError 413 when `Content-Length` already says the body is too large. */
export function assertDeclaredLength(request: IncomingMessage, limit: number): void {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    `request body larger than ${limit} bytes: send less data per update (the limit is --max-body)`,
    { Connection: 'close' },
  );
}

function tooSlow(timeoutMs: number, received: number): HttpError {
  return new HttpError(
    408,
    `request body not complete after ${formatSeconds(timeoutMs)} (${received} bytes arrived): send it at once (the limit is --body-timeout)`,
    { Connection: 'close' },
  );
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
