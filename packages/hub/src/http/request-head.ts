import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { HubRequest } from './hub-request.js';

/** The head of an HTTP/1.1 request read off a connection, before node:http sees it. */
export interface RequestHead extends HubRequest {
  readonly method: string;
  readonly url: string;
}

/** RFC 9110 §5.6.2: `token = 1*tchar`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** An origin-form target (RFC 9112 §3.2.1): visible ASCII only, starting with `/`. */
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
/** RFC 9110 §5.5: visible characters, spaces, tabs and obs-text; nothing else. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers that give a request a body, change its framing or ask for a protocol switch. */
const NOT_PLAIN = new Set(['transfer-encoding', 'upgrade', 'expect']);

/**
 * Parses a request head (`bytes` ends with the blank line) when it is a plain HTTP/1.1
 * request: request line `METHOD /target HTTP/1.1`, well-formed header lines ended by CRLF,
 * each header at most once, a `Host`, and no body (no `Transfer-Encoding`, a
 * `Content-Length` of 0 at most), no `Upgrade`, no `Expect`.
 *
 * Anything else — other versions, absolute-form targets, bare LF line ends, folded lines,
 * repeated headers, bodies — gives undefined: node:http reads such requests, with its own
 * rules and answers. So this parser never has to agree with node:http on a hard case; it only
 * recognises the common one, byte for byte the way node:http reads it.
 */
export function parseRequestHead(bytes: Buffer, socket: Socket): RequestHead | undefined {
  const text = bytes.toString('latin1', 0, bytes.length - 4);
  const lines = text.split('\r\n');
  const requestLine = lines[0] as string;
  const firstSpace = requestLine.indexOf(' ');
  const lastSpace = requestLine.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace) return undefined;
  if (requestLine.slice(lastSpace + 1) !== 'HTTP/1.1') return undefined;
  const method = requestLine.slice(0, firstSpace);
  const url = requestLine.slice(firstSpace + 1, lastSpace);
  if (!TOKEN.test(method) || !ORIGIN_FORM.test(url)) return undefined;

  const headers: IncomingHttpHeaders = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    // A bare CR or LF inside a line, a space before the colon, a folded line: not plain.
    if (!TOKEN.test(name)) return undefined;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) return undefined;
    if (headers[name] !== undefined || NOT_PLAIN.has(name)) return undefined;
    if (name === 'content-length' && value !== '0') return undefined;
    headers[name] = value;
  }
  // RFC 9112 §3.2: "A server MUST respond with a 400 [...] to any HTTP/1.1 request message
  // that lacks a Host header field": node:http gives that answer.
  if (headers.host === undefined) return undefined;
  return { method, url, headers, socket };
}
