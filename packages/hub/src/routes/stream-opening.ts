import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventStream, type EventStreamOptions } from '@tidings/server';
import type { FirstRequest } from '../http/first-request.js';

/**
 * Where a subscriber's event stream opens: on a node:http (or node:http2 compatibility)
 * response, or on a connection whose first request head the hub read itself.
 */
export interface StreamOpening {
  /** True once the client has left: no stream is opened then. */
  readonly gone: boolean;
  /** Sends the head, with `headers` beside the stream's own, and opens the stream. */
  open(headers: Record<string, string>): EventStream;
}

/** On a node:http response: the headers go on the response, then `EventStream.fromNode`. */
export class ResponseOpening implements StreamOpening {
  readonly #request: IncomingMessage;
  readonly #response: ServerResponse;
  readonly #options: EventStreamOptions;

  constructor(request: IncomingMessage, response: ServerResponse, options: EventStreamOptions) {
    this.#request = request;
    this.#response = response;
    this.#options = options;
  }

  get gone(): boolean {
    // The socket, not the request: a QUERY request whose body was read is already done (and
    // destroyed) while its client still waits for the stream.
    return this.#request.socket.destroyed || this.#response.destroyed;
  }

  open(headers: Record<string, string>): EventStream {
    // Per-request headers go on the response itself, so every stream shares one options
    // object (and the server's one validated config for it): less memory per connection.
    for (const [name, value] of Object.entries(headers)) this.#response.setHeader(name, value);
    return EventStream.fromNode(this.#request, this.#response, this.#options);
  }
}

/**
 * On a connection the hub read the head of (first-request.ts): the connection is taken from
 * the reader and the stream owns it (`EventStream.fromSocket`), with no node:http object
 * kept for it.
 */
export class ConnectionOpening implements StreamOpening {
  readonly #request: FirstRequest;
  readonly #options: EventStreamOptions;
  #opened = false;

  constructor(request: FirstRequest, options: EventStreamOptions) {
    this.#request = request;
    this.#options = options;
  }

  get gone(): boolean {
    return this.#request.head.socket.destroyed;
  }

  /** True once the head was sent: from then on a failure can only cut the stream. */
  get opened(): boolean {
    return this.#opened;
  }

  open(headers: Record<string, string>): EventStream {
    const socket = this.#request.take();
    this.#opened = true;
    return EventStream.fromSocket(socket, this.#request.head, this.#options, headers);
  }
}
