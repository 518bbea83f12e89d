import type { ServerResponse } from 'node:http';
import { endAfterDiscardingBody } from './linger.js';

/**
 * Ends a response with a `text/plain` body, written exactly as given: a publish answer is
 * the id and nothing else ("the HTTP response's body MUST be the `id`").
 */
export function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const body = Buffer.from(text);
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    ...headers,
    'Content-Length': String(body.length),
    'X-Content-Type-Options': 'nosniff',
  });
  endWith(response, body, headers);
}

/**
 * A refusal that closes the connection while the body is still arriving (413, 408): the
 * client must get to read it before the connection goes, so the rest of the body is drained
 * (bounded) first.
 */
function endWith(response: ServerResponse, body: Buffer, headers: Record<string, string>): void {
  const closing = /\bclose\b/i.test(headers.Connection ?? '');
  if (closing && !response.req.complete) {
    response.write(body);
    endAfterDiscardingBody(response.req, response);
    return;
  }
  response.end(body);
}

/**
 * Ends a response with a JSON (or JSON-LD, or problem+json) document; `pretty` indents it
 * for people, compact keeps a refusal on one line.
 */
export function sendJson(
  response: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
  pretty = true,
): void {
  const body = Buffer.from(pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value));
  response.writeHead(status, {
    ...headers,
    'Content-Type': `${contentType}; charset=utf-8`,
    'Content-Length': String(body.length),
    'X-Content-Type-Options': 'nosniff',
  });
  endWith(response, body, headers);
}
