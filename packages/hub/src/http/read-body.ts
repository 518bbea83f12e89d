import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/**
 * Reads a request body of at most `limit` bytes.
 *
 * A declared `Content-Length` over the limit is refused before a byte is read; a body that
 * grows past it (chunked, or a lying length) is refused as soon as it does. Either way the
 * rest is discarded rather than buffered, and the caller answers 413 with
 * `Connection: close` so the socket does not have to be drained.
 *
 * @throws HttpError 413, or 400 when the client aborts mid-body.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  assertDeclaredLength(request, limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: HttpError) => {
      if (failed) return;
      failed = true;
      chunks.length = 0;
      reject(error);
    };
    request.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) fail(tooLarge(limit));
      else chunks.push(chunk);
    });
    request.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
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
