import type { HubRequest } from './hub-request.js';

/**
 * The address a connection limit is counted against.
 *
 * Behind a reverse proxy every connection comes from the proxy, so with `trustProxy` the
 * last entry of `X-Forwarded-For` is used: the one the proxy itself appended, which a
 * client cannot forge (the entries before it can be anything the client sent).
 */
export function clientAddress(request: HubRequest, trustProxy: boolean): string {
  if (trustProxy) {
    const header = request.headers['x-forwarded-for'];
    const value = Array.isArray(header) ? header[header.length - 1] : header;
    if (value) {
      const last = value.slice(value.lastIndexOf(',') + 1).trim();
      if (last !== '') return last;
    }
  }
  return request.socket.remoteAddress ?? 'unknown';
}
