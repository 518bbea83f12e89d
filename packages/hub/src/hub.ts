import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Context } from '@opentelemetry/api';
import { AuthError, Authenticator, RESOURCE_METADATA_PATH } from './auth/index.js';
import { type Broker, BrokerUnavailableError, createBroker } from './broker/broker.js';
import './broker/memory-broker.js';
import { MemoryPresence, type Presence, type PresenceRecord } from './broker/presence.js';
import { ConnectionLimiter } from './connection-limiter.js';
import { createUpdateId } from './event-id.js';
import { ExpiryScheduler } from './expiry-scheduler.js';
import { FanOut } from './fan-out.js';
import { answerClientError } from './http/client-error.js';
import { CorsPolicy } from './http/cors.js';
import type { FirstRequest } from './http/first-request.js';
import { HttpError } from './http/http-error.js';
import { assertHubHost } from './http/hub-url.js';
import { HubListener, type ListenSecurity } from './http/listeners.js';
import { sendRefusal } from './http/problem-details.js';
import type { RequestHead } from './http/request-head.js';
import { type RequestTarget, requestTarget } from './http/request-target.js';
import { sendJson } from './http/respond.js';
import type { TlsCredentials } from './http/tls-credentials.js';
import type { HubContext } from './hub-context.js';
import { type HubOptions, type ResolvedHubOptions, resolveHubOptions } from './hub-options.js';
import { createLogger, type Logger } from './logger.js';
import { HubMetrics } from './metrics.js';
import {
  HUB_PATH,
  type PublishRequest,
  parseSubscriptionsPath,
  validatePublishRequest,
} from './protocol/draft-07.js';
import { queryMethodFields } from './protocol/draft-08.js';
import { parseQueryString } from './protocol/form-urlencoded.js';
import { ADMIN_PATHS, AdminRoutes } from './routes/admin-routes.js';
import { ADMIN_TOOL_PATHS, AdminTools } from './routes/admin-tools.js';
import { answerHealth, HEALTH_PATHS, notReadyReason } from './routes/health.js';
import { protectedResourceMetadata } from './routes/protected-resource-metadata.js';
import { handlePublish } from './routes/publish.js';
import { StatsFeed } from './routes/stats-feed.js';
import { ConnectionOpening, ResponseOpening } from './routes/stream-opening.js';
import { announce, handleSubscribe } from './routes/subscribe.js';
import {
  handleDraft08SubscriptionsApi,
  handleSubscriptionsApi,
  parseDraft08SubscriptionsPath,
} from './routes/subscriptions-api.js';
import { SharedCompilations } from './shared-compilations.js';
import type { Subscriber } from './subscriber.js';
import { presenceRecord } from './subscription-events.js';
import { TopicSelectorError } from './topic-selector.js';
import { HubTracing } from './tracing/hub-tracing.js';
import type { StoredUpdate } from './update.js';

/** What {@link Hub.publish} takes: an update without the id (generated when absent). */
export interface PublishInput {
  topics: readonly string[];
  data?: string;
  private?: boolean;
  id?: string;
  type?: string;
  retry?: number;
}

/**
 * A Mercure hub (draft-07) on node:http: subscribe, publish, the subscriptions API and the
 * health checks (`/livez`, `/readyz`, `/healthz`) on its public listener; the same plus the
 * dashboard, `/stats` and `/metrics` on its admin listener.
 *
 * ```ts
 * const hub = await Hub.create({ auth: { publisherKey, subscriberKey, anonymous: true, allowedOrigins: [] } });
 * await hub.listen(3000);
 * await hub.listenAdmin(9090); // 127.0.0.1 unless told otherwise
 * // or, in existing servers: http.createServer(hub.handler), http.createServer(hub.adminHandler)
 * ```
 */
export class Hub {
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  readonly options: ResolvedHubOptions;
  readonly #context: HubContext;
  readonly #broker: Broker;
  readonly #presence: Presence | undefined;
  readonly #fanOut: FanOut;
  readonly #stats: StatsFeed;
  readonly #admin: AdminRoutes;
  readonly #adminTools: AdminTools;
  readonly #compilations = new SharedCompilations();
  readonly #expiry = new ExpiryScheduler();
  readonly #tracing = new HubTracing();
  #listener: HubListener | undefined;
  #adminListener: HubListener | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  /** Refusals of requests read by the public listener itself, for node:http to answer. */
  readonly #handedBack = new WeakMap<Socket, unknown>();
  readonly #countAnswer: (this: ServerResponse) => void;

  private constructor(
    options: ResolvedHubOptions,
    broker: Broker,
    presence: Presence | undefined,
    auth: Authenticator,
    logger: Logger,
    metrics: HubMetrics,
  ) {
    this.options = options;
    this.logger = logger;
    this.#broker = broker;
    this.#presence = presence;
    this.metrics = metrics;
    this.#stats = new StatsFeed(this.metrics);
    this.#fanOut = new FanOut({
      maxQueueBytes: options.maxQueueBytes,
      resumeRetryMs: options.shutdownRetryMs,
      metrics,
      logger,
      tracing: this.#tracing,
      onHealth: (health) => {
        if (health.ready) logger.info({ broker: broker.name }, 'the broker is reachable again');
        else
          logger.warn({ broker: broker.name, reason: health.reason }, 'the broker is unreachable');
      },
    });
    const hub = this;
    this.#context = {
      options,
      broker,
      presence,
      auth,
      fanOut: this.#fanOut,
      limiter: new ConnectionLimiter(options),
      expiry: this.#expiry,
      metrics: this.metrics,
      logger,
      cors: new CorsPolicy(options.corsOrigins),
      compilations: this.#compilations,
      tracing: this.#tracing,
      get closing() {
        return hub.#closing;
      },
      publish: (update, parent) => this.#accept(update, parent),
      publishOwn: (update) => broker.publish(update),
      streamOptions: {
        heartbeatMs: options.heartbeatMs === 0 ? false : options.heartbeatMs,
        // The draft-07 parser reads `lastEventID` itself, with the header taking precedence.
        lastEventIdParam: false,
        maxQueueBytes: options.maxQueueBytes,
        headers: {
          // Draft-07: responses to requests carrying a token in the query "SHOULD contain a
          // `Cache-Control` header with the `private` option".
          'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
        },
      },
      register: (subscriber) => this.#register(subscriber),
      unregister: (subscriber) => this.#unregister(subscriber),
    };
    this.#admin = new AdminRoutes(options, this.metrics, this.#stats, this.#context.limiter);
    this.#adminTools = new AdminTools(this.#context);
    // One listener function for every response (no closure per request): it reads what it
    // needs from the response it is called on.
    this.#countAnswer = function (this: ServerResponse) {
      hub.metrics.requests.inc({
        route: routeName(this.req.url ?? '/'),
        status: String(this.statusCode),
      });
    };
  }

  /**
   * Loads the keys, creates and starts the broker.
   *
   * @throws BrokerConfigError for an unknown transport; RangeError for a bad option.
   */
  static async create(options: HubOptions): Promise<Hub> {
    const resolved = resolveHubOptions(options);
    const logger = options.logger ?? createLogger();
    const metrics = new HubMetrics({ defaultMetrics: resolved.processMetrics });
    const auth = await Authenticator.create(options.auth);
    const broker =
      options.broker ??
      (await createBroker(resolved.transport, { logger, registry: metrics.registry }));
    // The subscriptions API lists from presence, so that every node answers for all of them.
    const presence = resolved.subscriptions ? (broker.presence ?? new MemoryPresence()) : undefined;
    const hub = new Hub(resolved, broker, presence, auth, logger, metrics);
    await broker.start(hub.#fanOut);
    if (presence) {
      try {
        await presence.start({ departed: (records) => hub.#departed(records) });
      } catch (error) {
        await broker.close();
        throw error;
      }
    }
    return hub;
  }

  /**
   * The public request listener, for `http.createServer(hub.handler)` or an existing server:
   * the Mercure endpoint and the health checks, and the admin routes only when the option
   * `admin` is `'public'`.
   */
  readonly handler = (request: IncomingMessage, response: ServerResponse): void => {
    this.#route(request, response, this.options.admin === 'public').catch((error: unknown) =>
      this.#fail(request, response, error),
    );
  };

  /**
   * The admin request listener: everything {@link handler} serves plus the dashboard at `/`,
   * its `/stats` stream and `/metrics`. Serve it only where operators reach it (a loopback
   * or private address): the dashboard talks to the hub on the origin it was loaded from.
   */
  readonly adminHandler = (request: IncomingMessage, response: ServerResponse): void => {
    this.#route(request, response, true).catch((error: unknown) =>
      this.#fail(request, response, error),
    );
  };

  /**
   * Starts the public server of the hub. Port 0 picks a free port. `security`: `{ tls }`
   * serves HTTPS with HTTP/2 and HTTP/1.1 (ALPN), `{ h2c: true }` cleartext HTTP/2 beside
   * HTTP/1.1 (behind a proxy that speaks HTTP/2 to its upstreams); plain HTTP/1.1 without.
   */
  async listen(port = 3000, host?: string, security?: ListenSecurity): Promise<AddressInfo> {
    if (this.#listener) throw new Error('the hub is already listening');
    // Subscriptions that open a connection are answered from the head the listener read, with
    // no node:http object kept per stream; everything else goes through `handler`.
    this.#listener = new HubListener(this.#createServer(this.handler), this.handler, security, {
      route: (request) => this.#answerFirstRequest(request),
      path: HUB_PATH,
      limits: this.options,
    });
    return this.#listener.listen(port, host);
  }

  /**
   * Starts the admin server ({@link adminHandler}), on the loopback address unless `host`
   * says otherwise. Port 0 picks a free port; `security` as for {@link listen}.
   */
  async listenAdmin(
    port: number,
    host = '127.0.0.1',
    security?: ListenSecurity,
  ): Promise<AddressInfo> {
    if (this.#adminListener) throw new Error('the hub admin listener is already listening');
    this.#adminListener = new HubListener(
      this.#createServer(this.adminHandler),
      this.adminHandler,
      security,
    );
    return this.#adminListener.listen(port, host);
  }

  /**
   * Replaces the TLS certificate of the listeners that serve TLS, for new connections;
   * open connections and their streams stay. Call it on a certificate renewal (the CLI does
   * on SIGHUP).
   *
   * @throws Error when the pair is unusable (the running certificate stays) or nothing here
   * serves TLS.
   */
  setTlsCredentials(credentials: TlsCredentials): void {
    const listeners = [this.#listener, this.#adminListener].filter(
      (listener) => listener?.tls === true,
    );
    if (listeners.length === 0) throw new Error('the hub does not serve TLS');
    for (const listener of listeners) listener?.setCredentials(credentials);
  }

  /** An HTTP server with the hub's time limits on request heads and bodies. */
  #createServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Server {
    const { headersTimeoutMs, bodyTimeoutMs } = this.options;
    const server = createServer(
      // Node looks for late requests on this beat: often enough for the timeouts to hold.
      { connectionsCheckingInterval: Math.min(1000, headersTimeoutMs) },
      handler,
    );
    // Node's timeouts end at the request's end, not the response's: a subscriber's GET is
    // complete once its head has arrived, so neither ever cuts an open event stream. A
    // publish body has its own deadline with a reason (read-body.ts); requestTimeout is the
    // backstop for a body no route reads (a refused request keeps being drained otherwise).
    server.headersTimeout = headersTimeoutMs;
    server.requestTimeout = headersTimeoutMs + bodyTimeoutMs;
    server.on('clientError', (error: Error, socket) =>
      answerClientError(error, socket, this.options),
    );
    return server;
  }

  /**
   * What `/readyz` would answer now, for a supervisor that cannot ask over HTTP (the primary
   * of `tidings serve --workers`, whose workers share one port).
   */
  async readiness(): Promise<{ ready: boolean; reason?: string }> {
    const reason = await notReadyReason(this.#context);
    return reason === undefined ? { ready: true } : { ready: false, reason };
  }

  /**
   * The node:http server of the public listener, once {@link listen} resolved: it answers
   * every HTTP/1.1 request but the subscriptions the listener answers itself, and does not
   * listen itself (`hub.listener.outer` does; `listen()` resolves with the address).
   */
  get server(): Server | undefined {
    return this.#listener?.http1;
  }

  /** The HTTP/1 server of the admin listener, once {@link listenAdmin} resolved. */
  get adminServer(): Server | undefined {
    return this.#adminListener?.http1;
  }

  /** The public listener (its HTTP/1 and HTTP/2 sides), once {@link listen} resolved. */
  get listener(): HubListener | undefined {
    return this.#listener;
  }

  /**
   * Publishes an update from the application itself: no token, but the same checks as a
   * publish request (an `HttpError` with the reason when a field is not acceptable).
   * Resolves with the id once the broker has the update.
   */
  async publish(input: PublishInput): Promise<string> {
    const update = validatePublishRequest(
      {
        topics: input.topics,
        data: input.data ?? '',
        private: input.private ?? false,
        id: input.id === '' ? undefined : input.id,
        type: input.type === '' ? undefined : input.type,
        retry: input.retry,
      },
      this.options,
    );
    return (await this.#accept(update)).id;
  }

  /** `parent`: the trace context the broker append belongs to (the active one when absent). */
  async #accept(update: PublishRequest, parent?: Context): Promise<StoredUpdate> {
    // Once shutdown has begun, the streams that would deliver an update are closing: an
    // update not yet handed to the broker is refused, so no publisher is told "accepted"
    // for an update nobody here will get.
    if (this.#closing) {
      throw new HttpError(503, 'the hub is shutting down: publish again in a moment', {
        'Retry-After': '1',
        Connection: 'close',
      });
    }
    const id = update.id ?? createUpdateId();
    const span = this.#tracing.startAppend(id, update.topics.length, parent);
    const trace = this.#tracing.carrierOf(span);
    let stored: StoredUpdate;
    try {
      stored = await this.#broker.publish(
        trace === undefined ? { ...update, id } : { ...update, id, trace },
      );
    } catch (error) {
      this.#tracing.endAppend(span, id, error);
      throw error;
    }
    this.#tracing.endAppend(span, id);
    this.metrics.published++;
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug(
        {
          id: stored.id,
          topics: stored.topics,
          private: stored.private,
          bytes: stored.chunk.length,
        },
        'update published',
      );
    }
    return stored;
  }

  /**
   * Graceful shutdown: stop accepting connections, tell every open stream to come back
   * after a short `retry:` (to another node, behind a load balancer) and close it, let
   * requests in flight finish (cut after `shutdownTimeoutMs`), then close the broker.
   * Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    const listeners = [this.#listener, this.#adminListener].filter(
      (listener) => listener !== undefined,
    );
    const listenersClosed = listeners.map((listener) => listener.close());
    const { shutdownRetryMs } = this.options;
    let streams = 0;
    for (const subscriber of [...this.#fanOut.index.values()]) {
      this.#fanOut.disconnect(subscriber, shutdownRetryMs);
      streams++;
    }
    // Spread the reconnections: half to one and a half times the configured delay.
    streams += this.#stats.closeAll(() => Math.round(shutdownRetryMs * (0.5 + Math.random())));
    this.logger.info({ streams }, 'shutting down: streams told to reconnect');
    if (listeners.length > 0) {
      // The streams were ended above: HTTP/2 sessions whose last stream has gone get their
      // GOAWAY now, HTTP/1.1 connections close as they become idle.
      for (const listener of listeners) listener.closeIdle();
      const deadline = setTimeout(() => {
        for (const listener of listeners) listener.closeAll();
      }, this.options.shutdownTimeoutMs);
      deadline.unref();
      await Promise.all(listenersClosed);
      clearTimeout(deadline);
    }
    this.#expiry.close();
    // After the streams ended: their records were removed, and the node leaves presence.
    await this.#presence?.close();
    await this.#broker.close();
    this.logger.info('hub closed');
  }

  // ---- subscribers -------------------------------------------------------------------

  #register(subscriber: Subscriber): void {
    subscriber.state = 'registered';
    this.#fanOut.hold(subscriber);
    this.metrics.connections++;
    this.metrics.subscriptions += subscriber.selectors.selectors.length;
    this.#presence?.add(presenceRecord(subscriber));
  }

  #unregister(subscriber: Subscriber): void {
    if (subscriber.state === 'gone') return;
    const wasRegistered = subscriber.state === 'registered';
    subscriber.state = 'gone';
    this.#context.limiter.release(subscriber.address);
    subscriber.cancelExpiry?.();
    this.#fanOut.remove(subscriber);
    if (!wasRegistered) return;
    if (subscriber.stream?.closeReason === 'slow-consumer') {
      this.#fanOut.countSlowConsumer(subscriber);
    }
    this.metrics.connections--;
    this.metrics.subscriptions -= subscriber.selectors.selectors.length;
    if (this.#presence) {
      this.#presence.remove(subscriber.id);
      announce(this.#context, presenceRecord(subscriber), false);
    }
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ subscriber: subscriber.id }, 'subscriber left');
    }
  }

  /**
   * Subscribers of a node that stopped without removing them: presence hands each to one
   * live node only, which announces them as inactive, as their own node would have.
   */
  #departed(records: readonly PresenceRecord[]): void {
    this.logger.info({ subscribers: records.length }, 'subscribers of a lost hub node left');
    for (const record of records) announce(this.#context, record, false);
  }

  // ---- routing -------------------------------------------------------------------------

  /** `admin`: whether this listener serves the admin routes (dashboard, `/stats`, `/metrics`). */
  async #route(request: IncomingMessage, response: ServerResponse, admin: boolean): Promise<void> {
    const target = requestTarget(request);
    const method = request.method ?? 'GET';
    const context = this.#context;
    const cors = context.cors;
    response.on('finish', this.#countAnswer);
    // A subscription the listener read and refused (#answerFirstRequest): answered here.
    const refusal = this.#handedBack.get(request.socket);
    if (refusal !== undefined) {
      this.#handedBack.delete(request.socket);
      throw refusal;
    }

    if (method === 'OPTIONS') {
      response.writeHead(204, cors.preflightHeaders(request.headers));
      response.end();
      return;
    }
    const corsHeaders = cors.headersFor(request.headers);
    if (HEALTH_PATHS.has(target.path) && (method === 'GET' || method === 'HEAD')) {
      return answerHealth(context, target.path, response);
    }
    if (this.#closing) {
      throw new HttpError(503, 'the hub is shutting down; reconnect in a moment', {
        'Retry-After': '1',
        Connection: 'close',
      });
    }

    if (target.path === HUB_PATH || target.path.startsWith(`${HUB_PATH}/`)) {
      assertHubHost(request, this.options);
    }
    if (target.path === HUB_PATH) {
      const opening = new ResponseOpening(request, response, context.streamOptions);
      if (method === 'GET') {
        const fields = parseQueryString(target.query);
        return handleSubscribe(context, request, fields, target, corsHeaders, opening);
      }
      // Draft-08: "Hubs MAY also accept any other safe method [...] notably the `QUERY` method".
      // Draft-07 or draft-08 is chosen by the request's parameters (the body's too).
      if (method === 'QUERY' && this.options.mercureDrafts.includes('08')) {
        const { maxBodyBytes, bodyTimeoutMs } = this.options;
        const fields = await queryMethodFields(request, target, maxBodyBytes, bodyTimeoutMs);
        return handleSubscribe(context, request, fields, target, corsHeaders, opening);
      }
      if (method === 'POST') return handlePublish(context, request, response, target, corsHeaders);
      throw methodNotAllowed(
        method,
        this.options.mercureDrafts.includes('08')
          ? 'GET, POST, QUERY, OPTIONS'
          : 'GET, POST, OPTIONS',
      );
    }
    // Draft-08 paths (`/subscriptions/{match_type}/{match}[/{subscriber}]`), and the bare
    // collection asked for with a draft-08 token, get the draft-08 API.
    const api08 = this.options.mercureDrafts.includes('08')
      ? parseDraft08SubscriptionsPath(target.path, request.headers)
      : undefined;
    const api = api08 === undefined ? parseSubscriptionsPath(target.path) : undefined;
    if (api08 !== undefined || api !== undefined) {
      if (method !== 'GET') throw methodNotAllowed(method, 'GET, OPTIONS');
      if (!this.options.subscriptions) {
        throw new HttpError(
          404,
          'the subscriptions API is off: start the hub with --subscriptions',
        );
      }
      if (api08 !== undefined) {
        return handleDraft08SubscriptionsApi(
          context,
          request,
          response,
          target,
          api08,
          corsHeaders,
        );
      }
      return handleSubscriptionsApi(context, request, response, target, api!, corsHeaders);
    }
    if (ADMIN_TOOL_PATHS.has(target.path)) {
      if (admin) return this.#adminTools.answer(request, response, target.path);
      throw new HttpError(
        404,
        `nothing at ${target.path} here: the dashboard's token and selector tools are on the hub's admin listener (tidings serve --admin-listen 127.0.0.1:PORT)`,
      );
    }
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, 'GET, HEAD');
    if (target.path === RESOURCE_METADATA_PATH && this.options.mercureDrafts.includes('08')) {
      sendJson(response, 200, protectedResourceMetadata(context, request), corsHeaders);
      return;
    }
    if (admin) {
      if (await this.#admin.answer(request, response, target.path, corsHeaders)) return;
    } else if (ADMIN_PATHS.has(target.path)) {
      throw new HttpError(
        404,
        `nothing at ${target.path} here: the dashboard, /stats and /metrics are on the hub's admin listener (tidings serve --admin-listen 127.0.0.1:PORT), and the hub is at ${HUB_PATH}`,
      );
    }
    throw new HttpError(404, `nothing at ${target.path}: the hub is at ${HUB_PATH}`);
  }

  /**
   * The first request of a connection, read by the public listener (http/first-request.ts):
   * a subscription (`GET` on the hub's path) is answered here, its stream owning the
   * connection; everything else is handed back to node:http and {@link handler}.
   */
  #answerFirstRequest(request: FirstRequest): void {
    const { head } = request;
    const target = requestTarget(head);
    if (head.method !== 'GET' || target.path !== HUB_PATH || this.#closing) {
      request.handBack();
      return;
    }
    const opening = new ConnectionOpening(request, this.#context.streamOptions);
    this.#subscribeOnConnection(head, target, opening).catch((error: unknown) => {
      if (!opening.opened) {
        // Nothing sent yet: node:http reads the request again and #route gives the answer,
        // with the status, headers and body of every other refusal.
        this.#handedBack.set(head.socket, error);
        request.handBack();
        return;
      }
      this.logger.error({ err: error, method: head.method, url: head.url }, 'request failed');
      head.socket.destroy();
    });
  }

  async #subscribeOnConnection(
    head: RequestHead,
    target: RequestTarget,
    opening: ConnectionOpening,
  ): Promise<void> {
    const context = this.#context;
    assertHubHost(head, this.options);
    const corsHeaders = context.cors.headersFor(head.headers);
    const fields = parseQueryString(target.query);
    await handleSubscribe(context, head, fields, target, corsHeaders, opening);
    if (opening.opened) this.metrics.requests.inc({ route: 'hub', status: '200' });
  }

  /** Turns a thrown error into its answer: the reason for refusals, a bare 500 (logged) for bugs. */
  #fail(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    const corsHeaders = this.#context.cors.headersFor(request.headers);
    const refusal = toRefusal(error);
    if (refusal) {
      this.logger.debug(
        { status: refusal.status, reason: refusal.reason, url: request.url },
        'request refused',
      );
      const headers: Record<string, string> = { ...corsHeaders, ...refusal.headers };
      // Refused before its body was read: the connection cannot serve another request, so
      // the answer says so, and the rest of the body is drained (bounded) before closing.
      if (!request.complete) headers.Connection = 'close';
      // RFC 9457 problem details when the client takes JSON, text otherwise; the headers
      // (WWW-Authenticate above all) either way.
      sendRefusal(response, request.headers, refusal.status, refusal.reason, headers);
      return;
    }
    this.logger.error({ err: error, method: request.method, url: request.url }, 'request failed');
    if (response.headersSent) response.destroy();
    else
      sendRefusal(
        response,
        request.headers,
        500,
        'internal error in the hub (logged)',
        corsHeaders,
      );
  }
}

const KNOWN_ROUTES = new Set([...HEALTH_PATHS, ...ADMIN_PATHS]);

/** A bounded label for the request counter: unknown paths must not create new series. */
function routeName(url: string): string {
  const question = url.indexOf('?');
  const path = question === -1 ? url : url.slice(0, question);
  if (path === HUB_PATH) return 'hub';
  if (path.startsWith(`${HUB_PATH}/`)) return 'subscriptions';
  return KNOWN_ROUTES.has(path) ? path : 'other';
}

interface Refusal {
  status: number;
  reason: string;
  headers: Record<string, string>;
}

/** The status and reason for every error that means "bad request", not "bug". */
function toRefusal(error: unknown): Refusal | undefined {
  if (error instanceof HttpError)
    return { status: error.status, reason: error.message, headers: { ...error.headers } };
  if (error instanceof AuthError) {
    return {
      status: error.status,
      reason: error.message,
      // RFC 6750 §3: the scheme, and what was wrong with the token.
      headers: { 'WWW-Authenticate': error.wwwAuthenticate },
    };
  }
  if (error instanceof TopicSelectorError)
    return { status: 400, reason: error.message, headers: {} };
  if (error instanceof BrokerUnavailableError) {
    return {
      status: 503,
      reason: `the broker cannot take updates right now: ${error.message}`,
      headers: { 'Retry-After': '1' },
    };
  }
  return undefined;
}

function methodNotAllowed(method: string, allow: string): HttpError {
  return new HttpError(405, `method ${method} not allowed here; use ${allow}`, { Allow: allow });
}
