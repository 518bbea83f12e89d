import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What the routes read of a request: node:http's `IncomingMessage`, node:http2's
 * compatibility request, and a request head the hub read itself (`request-head.ts`) all have
 * this shape. Header names are in lower case; values are byte strings (one char per byte).
 */
export interface HubRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** The connection: its peer address, and `encrypted` under TLS. */
  readonly socket: Socket;
}
