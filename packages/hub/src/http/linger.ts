import type { IncomingMessage, ServerResponse } from 'node:http';

/** Most request bytes read and dropped after a refusal that closes the connection. */
export const LINGER_MAX_BYTES = 4 * 1024 * 1024;
/** Longest time spent reading them. */
export const LINGER_MAX_MS = 2000;

/**
 * Ends a refusal (413, 408) sent while the client is still sending its body, without
 * losing the refusal on the way.
 *
 * Closing a socket that still has unread request bytes makes the kernel send a reset, and a
 * client still writing (Node's http client, most SDKs) then sees EPIPE or ECONNRESET, never
 * the status and reason already written. RFC 9112 §9.6: the server "continues to read from
 * the connection [...] until it is reasonably certain that its own TCP stack has received
 * the client's acknowledgement". So, as Go's net/http and nginx's `lingering_close` do, the
 * response is written at once, the rest of the body is read and dropped — at most
 * {@link LINGER_MAX_BYTES} for at most {@link LINGER_MAX_MS} — and only then is the response
 * ended, which closes the connection (`Connection: close`).
 */
export function endAfterDiscardingBody(request: IncomingMessage, response: ServerResponse): void {
  let discarded = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    request.off('data', discard);
    request.off('end', finish);
    request.off('error', finish);
    response.off('close', finish);
    response.end();
  };
  const discard = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) finish();
  };
  const timer = setTimeout(finish, LINGER_MAX_MS);
  // A refusal in flight must not keep a process that is otherwise done alive.
  timer.unref();
  request.on('data', discard);
  request.once('end', finish);
  request.once('error', finish);
  response.once('close', finish);
  request.resume();
}
