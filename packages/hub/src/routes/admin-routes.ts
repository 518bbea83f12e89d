import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectionLimiter } from '../connection-limiter.js';
import {
  ClientModules,
  dashboardContentSecurityPolicy,
  MODULES_PATH,
  renderDashboard,
} from '../dashboard/index.js';
import { clientAddress } from '../http/client-address.js';
import { sendText } from '../http/respond.js';
import type { ResolvedHubOptions } from '../hub-options.js';
import type { HubMetrics } from '../metrics.js';
import { HUB_PATH } from '../protocol/draft-07.js';
import type { StatsFeed } from './stats-feed.js';

export const STATS_PATH = '/stats';
/** Development mode only: the publisher token, for a local `curl -H "Authorization: Bearer $(curl -s .../dev/token)"`. */
export const DEV_TOKEN_PATH = '/dev/token';
export const METRICS_PATH = '/metrics';

/** Paths that are admin routes, whether or not this hub serves them (for the 404 hint). */
export const ADMIN_PATHS: ReadonlySet<string> = new Set([
  '/',
  STATS_PATH,
  METRICS_PATH,
  DEV_TOKEN_PATH,
]);

/**
 * The operator's routes: the dashboard at `/`, its `/stats` stream, Prometheus `/metrics`
 * and (development only) `/dev/token`. They tell whoever can reach them how busy the hub is,
 * which topics exist and, in development, hand out a publisher token, so they are served on
 * the admin listener, not beside the Mercure endpoint, unless the hub is told otherwise.
 */
export class AdminRoutes {
  readonly #options: ResolvedHubOptions;
  readonly #metrics: HubMetrics;
  readonly #stats: StatsFeed;
  readonly #limiter: ConnectionLimiter;
  #dashboardHtml: Buffer | undefined;

  constructor(
    options: ResolvedHubOptions,
    metrics: HubMetrics,
    stats: StatsFeed,
    limiter: ConnectionLimiter,
  ) {
    this.#options = options;
    this.#metrics = metrics;
    this.#stats = stats;
    this.#limiter = limiter;
  }

  /**
   * Answers a `GET` or `HEAD` for an admin route. Resolves `false` when `path` is none
   * this hub serves (the caller answers 404).
   */
  async answer(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    corsHeaders: Record<string, string>,
  ): Promise<boolean> {
    const options = this.#options;
    switch (path) {
      case METRICS_PATH: {
        const registry = this.#metrics.registry;
        sendText(response, 200, await registry.metrics(), {
          'Content-Type': registry.contentType,
          'Cache-Control': 'no-store',
        });
        return true;
      }
      case STATS_PATH:
        if (!options.dashboard) return false;
        this.#openStats(request, response, corsHeaders);
        return true;
      case '/':
        if (!options.dashboard) return false;
        this.#sendDashboard(response);
        return true;
      case DEV_TOKEN_PATH:
        if (options.devPublisherToken === undefined) return false;
        sendText(response, 200, options.devPublisherToken, { 'Cache-Control': 'no-store' });
        return true;
      default:
        if (options.dashboard && path.startsWith(MODULES_PATH))
          return this.#sendModule(response, path);
        return false;
    }
  }

  /** A module of `@tidings/client` for the page; its URL names its content, so it never changes. */
  #sendModule(response: ServerResponse, path: string): boolean {
    const body = ClientModules.load().find(path);
    if (body === undefined) return false;
    response.writeHead(200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Content-Length': String(body.length),
      'Cache-Control': 'public, max-age=31536000, immutable',
      'X-Content-Type-Options': 'nosniff',
    });
    response.end(body);
    return true;
  }

  #openStats(
    request: IncomingMessage,
    response: ServerResponse,
    corsHeaders: Record<string, string>,
  ): void {
    const limiter = this.#limiter;
    const address = clientAddress(request, this.#options.trustProxy);
    limiter.acquire(address);
    const stream = this.#stats.open(request, response, corsHeaders, this.#options.heartbeatMs);
    stream.onClose(() => limiter.release(address));
  }

  #sendDashboard(response: ServerResponse): void {
    // Rendered once: the page is the same for everyone.
    this.#dashboardHtml ??= Buffer.from(
      renderDashboard({
        hubPath: HUB_PATH,
        statsPath: STATS_PATH,
        publisherToken: this.#options.devPublisherToken,
        mint: this.#options.devSecret !== undefined,
        cookieName: this.#options.auth.cookieName,
      }),
    );
    const body = this.#dashboardHtml;
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': String(body.length),
      // The page may carry a publisher token (development mode): never cache or frame it.
      'Cache-Control': 'no-store',
      // Only the page's own inline script and style run, and it talks only to this origin.
      'Content-Security-Policy': dashboardContentSecurityPolicy(),
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    response.end(body);
  }
}
