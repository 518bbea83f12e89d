import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthError, Authenticator, RESOURCE_METADATA_PATH } from './auth/index.js';
import { type Broker, BrokerUnavailableError, createBroker } from './broker/broker.js';
import './broker/memory-broker.js';
import { ConnectionLimiter } from './connection-limiter.js';
import { DASHBOARD_CONTENT_SECURITY_POLICY, renderDashboard } from './dashboard/index.js';

import { createUpdateId } from './event-id.js';
import { ExpiryScheduler } from './expiry-scheduler.js';
import { clientAddress } from './http/client-address.js';
import { CorsPolicy } from './http/cors.js';
import { HttpError } from './http/http-error.js';
import { assertHubHost } from './http/hub-url.js';
import { sendRefusal } from './http/problem-details.js';
import { requestTarget } from './http/request-target.js';
import { sendJson, sendText } from './http/respond.js';
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
import { protectedResourceMetadata } from './routes/protected-resource-metadata.js';
import { handlePublish } from './routes/publish.js';
import { StatsFeed } from './routes/stats-feed.js';
import { announce, handleSubscribe } from './routes/subscribe.js';
import {
  handleDraft08SubscriptionsApi,
  handleSubscriptionsApi,
  parseDraft08SubscriptionsPath,
} from './routes/subscriptions-api.js';
import { SharedCompilations } from './shared-compilations.js';
import type { Subscriber } from './subscriber.js';
import { SubscriberIndex } from './subscriber-index.js';
import { TopicSelectorError } from './topic-selector.js';
import type { StoredUpdate } from './update.js';

export const STATS_PATH = '/stats';
/** Development mode only: the publisher token, for a local `curl -H "Authorization: Bearer $(curl -s .../dev/token)"`. */
export const DEV_TOKEN_PATH = '/dev/token';

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
 * A Mercure hub (draft-07) on node:http: subscribe, publish, the subscriptions API, the
 * dashboard, `/healthz`, `/metrics` and `/stats`.
 *
 * ```ts
 * const hub = await Hub.create({ auth: { publisherKey, subscriberKey, anonymous: true, allowedOrigins: [] } });
 * await hub.listen(3000);
 * // or, in an existing server: http.createServer(hub.handler)
 * ```
 */
export class Hub {
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  readonly options: ResolvedHubOptions;
  readonly #context: HubContext;
  readonly #broker: Broker;
  readonly #index = new SubscriberIndex();
  readonly #stats: StatsFeed;
  readonly #compilations = new SharedCompilations();
  readonly #expiry = new ExpiryScheduler();
  #server: Server | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #dashboardHtml: string | undefined;
  /** The update being fanned out (a field, so the per-subscriber callback is not a new closure per update). */
  #current: StoredUpdate | undefined;
  #latencyBatch: number[] = [];
  readonly #countAnswer: (this: ServerResponse) => void;

  private constructor(
    options: ResolvedHubOptions,
    broker: Broker,
    auth: Authenticator,
    logger: Logger,
  ) {
    this.options = options;
    this.logger = logger;
    this.#broker = broker;
    this.metrics = new HubMetrics({ defaultMetrics: options.processMetrics });
    this.#stats = new StatsFeed(this.metrics);
    const hub = this;
    this.#context = {
      options,
      broker,
      auth,
      index: this.#index,
      limiter: new ConnectionLimiter(options),
      expiry: this.#expiry,
      metrics: this.metrics,
      logger,
      cors: new CorsPolicy(options.corsOrigins),
      compilations: this.#compilations,
      get closing() {
        return hub.#closing;
      },
      publish: (update) => this.#accept(update),
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
    const auth = await Authenticator.create(options.auth);
    const broker = options.broker ?? (await createBroker(resolved.transport));
    const hub = new Hub(resolved, broker, auth, logger);
    await broker.start(hub.#dispatch);
    return hub;
  }

  /** The request listener, for `http.createServer(hub.handler)` or an existing server. */
  readonly handler = (request: IncomingMessage, response: ServerResponse): void => {
    this.#route(request, response).catch((error: unknown) => this.#fail(request, response, error));
  };

  /** Starts an HTTP server for the hub. Port 0 picks a free port. */
  async listen(port = 3000, host?: string): Promise<AddressInfo> {
    if (this.#server) throw new Error('the hub is already listening');
    const server = createServer(this.handler);
    // Streams are long-lived: Node's default 5-minute request timeout would cut them.
    server.requestTimeout = 0;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  /** The listening server, once {@link listen} resolved. */
  get server(): Server | undefined {
    return this.#server;
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

  async #accept(update: PublishRequest): Promise<StoredUpdate> {
    const stored = await this.#broker.publish({ ...update, id: update.id ?? createUpdateId() });
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
    const server = this.#server;
    const serverClosed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    const { shutdownRetryMs } = this.options;
    // Spread the reconnections: half to one and a half times the configured delay.
    const retry = () => Math.round(shutdownRetryMs * (0.5 + Math.random()));
    let streams = 0;
    for (const subscriber of [...this.#index.values()]) {
      const stream = subscriber.stream;
      if (stream === undefined) continue;
      stream.send({ retry: retry() });
      stream.close();
      streams++;
    }
    streams += this.#stats.closeAll(retry);
    this.logger.info({ streams }, 'shutting down: streams told to reconnect');
    if (server) {
      server.closeIdleConnections();
      const deadline = setTimeout(
        () => server.closeAllConnections(),
        this.options.shutdownTimeoutMs,
      );
      deadline.unref();
      await serverClosed;
      clearTimeout(deadline);
    }
    this.#expiry.close();
    await this.#broker.close();
    this.logger.info('hub closed');
  }

  // ---- fan-out -------------------------------------------------------------------------

  /** The broker's listener: every update, once, in order. */
  readonly #dispatch = (update: StoredUpdate): void => {
    this.metrics.dispatched++;
    this.#current = update;
    this.#index.forEachRecipient(update, this.#deliver);
    this.#current = undefined;
    // Measured when the batched writes of this turn have gone to the sockets.
    if (this.#latencyBatch.push(update.acceptedAt) === 1) setImmediate(this.#observeLatency);
  };

  readonly #deliver = (subscriber: Subscriber): void => {
    const update = this.#current!;
    const held = subscriber.held;
    if (held !== undefined) {
      held.push(update);
      subscriber.heldBytes += update.chunk.length;
      if (subscriber.heldBytes > this.options.maxQueueBytes) this.#dropSlowConsumer(subscriber);
      return;
    }
    this.metrics.delivered++;
    subscriber.stream!.sendEncoded(update.chunk);
  };

  readonly #observeLatency = (): void => {
    const batch = this.#latencyBatch;
    this.#latencyBatch = [];
    const now = performance.timeOrigin + performance.now();
    for (const acceptedAt of batch) this.metrics.publishToWrite.observe((now - acceptedAt) / 1000);
  };

  #register(subscriber: Subscriber): void {
    subscriber.held = [];
    subscriber.state = 'registered';
    this.#index.add(subscriber);
    this.metrics.connections++;
    this.metrics.subscriptions += subscriber.selectors.selectors.length;
  }

  #unregister(subscriber: Subscriber): void {
    if (subscriber.state === 'gone') return;
    const wasRegistered = subscriber.state === 'registered';
    subscriber.state = 'gone';
    this.#context.limiter.release(subscriber.address);
    subscriber.cancelExpiry?.();
    subscriber.held = undefined;
    if (!wasRegistered) return;
    if (subscriber.stream?.closeReason === 'slow-consumer') this.#countSlowConsumer(subscriber);
    this.#index.delete(subscriber);
    this.metrics.connections--;
    this.metrics.subscriptions -= subscriber.selectors.selectors.length;
    if (this.options.subscriptions) announce(this.#context, subscriber, false);
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ subscriber: subscriber.id }, 'subscriber left');
    }
  }

  /**
   * A subscriber that was still catching up (replay) when more live updates arrived for it
   * than `maxQueueBytes` holds: dropped like a slow consumer, before its queue grows further.
   */
  #dropSlowConsumer(subscriber: Subscriber): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    subscriber.held = undefined;
    this.#index.delete(subscriber);
    this.#countSlowConsumer(subscriber);
    subscriber.stream?.close();
  }

  #countSlowConsumer(subscriber: Subscriber): void {
    this.metrics.slowConsumersDropped++;
    this.logger.warn(
      { subscriber: subscriber.id, address: subscriber.address },
      'slow consumer disconnected: it fell more than maxQueueBytes behind (it can resume with Last-Event-ID)',
    );
  }

  // ---- routing -------------------------------------------------------------------------

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = requestTarget(request);
    const method = request.method ?? 'GET';
    const context = this.#context;
    const cors = context.cors;
    response.on('finish', this.#countAnswer);

    if (method === 'OPTIONS') {
      response.writeHead(204, cors.preflightHeaders(request.headers));
      response.end();
      return;
    }
    const corsHeaders = cors.headersFor(request.headers);
    if (target.path === '/healthz' && (method === 'GET' || method === 'HEAD')) {
      // 503 from the moment shutdown begins: load balancers stop sending new clients here.
      sendJson(response, this.#closing ? 503 : 200, {
        status: this.#closing ? 'shutting-down' : 'ok',
        broker: this.#broker.name,
        connections: this.metrics.connections,
        uptimeSeconds: Math.round(process.uptime()),
      });
      return;
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
      if (method === 'GET') return handleSubscribe(context, request, response, target, corsHeaders);
      // Draft-08: "Hubs MAY also accept any other safe method [...] notably the `QUERY` method".
      if (method === 'QUERY' && this.options.mercureDrafts.includes('08')) {
        return handleSubscribe(context, request, response, target, corsHeaders);
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
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, 'GET, HEAD');
    if (target.path === RESOURCE_METADATA_PATH && this.options.mercureDrafts.includes('08')) {
      sendJson(response, 200, protectedResourceMetadata(context, request), corsHeaders);
      return;
    }
    switch (target.path) {
      case '/metrics': {
        const body = await this.metrics.registry.metrics();
        sendText(response, 200, body, { 'Content-Type': this.metrics.registry.contentType });
        return;
      }
      case STATS_PATH:
        if (!this.options.dashboard) break;
        this.#openStats(request, response, corsHeaders);
        return;
      case '/':
        if (!this.options.dashboard) break;
        this.#sendDashboard(response);
        return;
      case DEV_TOKEN_PATH:
        if (this.options.devPublisherToken === undefined) break;
        sendText(response, 200, this.options.devPublisherToken, { 'Cache-Control': 'no-store' });
        return;
    }
    throw new HttpError(404, `nothing at ${target.path}: the hub is at ${HUB_PATH}`);
  }

  #openStats(
    request: IncomingMessage,
    response: ServerResponse,
    corsHeaders: Record<string, string>,
  ): void {
    const { limiter } = this.#context;
    const address = clientAddress(request, this.options.trustProxy);
    limiter.acquire(address);
    const stream = this.#stats.open(request, response, corsHeaders, this.options.heartbeatMs);
    stream.onClose(() => limiter.release(address));
  }

  #sendDashboard(response: ServerResponse): void {
    // Rendered once: the page is the same for everyone.
    if (this.#dashboardHtml === undefined) {
      this.#dashboardHtml = renderDashboard({
        hubPath: HUB_PATH,
        statsPath: STATS_PATH,
        publisherToken: this.options.devPublisherToken,
      });
    }
    const html = this.#dashboardHtml;
    const body = Buffer.from(html);
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': String(body.length),
      // The page may carry a publisher token (development mode): never cache or frame it.
      'Cache-Control': 'no-store',
      // Only the page's own inline script and style run, and it talks only to this origin.
      'Content-Security-Policy': DASHBOARD_CONTENT_SECURITY_POLICY,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    response.end(body);
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
      // RFC 9457 problem details when the client takes JSON, text otherwise; the headers
      // (WWW-Authenticate above all) either way.
      sendRefusal(response, request.headers, refusal.status, refusal.reason, {
        ...corsHeaders,
        ...refusal.headers,
      });
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

const KNOWN_ROUTES = new Set(['/', '/healthz', '/metrics', STATS_PATH, DEV_TOKEN_PATH]);

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
