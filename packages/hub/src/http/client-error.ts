import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** What the server needs to explain a timeout. */
export interface ClientErrorLimits {
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

/**
 * Answers a request Node's parser gave up on before the hub saw it — a head that did not
 * arrive in time, a head too large, bytes that are not HTTP — with a status and a one-line
 * reason, then closes the connection. Node's own answer has no body, so a person cannot tell
 * which limit they hit. (The server's `clientError` listener; there is no request or response
 * object then, only the socket.)
 */
export function answerClientError(
  error: Error & { code?: string },
  socket: Duplex,
  limits: ClientErrorLimits,
): void {
  // The peer is gone, or a response of this connection is already on its way: adding bytes
  // would corrupt it (the rule Node's own handler follows).
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason] = refusal(error.code, limits);
  const body = Buffer.from(`${reason}\n`);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${body.length}\r\n` +
      'Connection: close\r\n\r\n' +
      body.toString('utf8'),
  );
}

function refusal(code: string | undefined, limits: ClientErrorLimits): [number, string] {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [
        408,
        `request not complete in time: send the request line and headers within ${seconds(limits.headersTimeoutMs)} (--headers-timeout) and a body within ${seconds(limits.bodyTimeoutMs)} more (--body-timeout)`,
      ];
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'request headers too large: send at most 16 KiB of request line and headers'];
    default:
      return [400, `malformed HTTP request${code === undefined ? '' : ` (${code})`}`];
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
