import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { sendJson, sendText } from '../http/respond.js';
import type { Logger } from '../logger.js';
import { HUB_PATH } from '../protocol/draft-07.js';
import { DEV_TOKEN_PATH, METRICS_PATH, STATS_PATH } from '../routes/admin-routes.js';

/** One worker as the primary sees it when asked. */
export interface WorkerStatus {
  /** Its place among the workers, 1 to N: the same for the worker that replaces it. */
  slot: number;
  /** Running and listening. */
  up: boolean;
  ready: boolean;
  reason?: string;
  connections: number;
  rssBytes: number;
}

/** What the admin listener reads from the primary. */
export interface ClusterState {
  readonly workers: number;
  readonly restarts: number;
  readonly closing: boolean;
  statuses(): Promise<WorkerStatus[]>;
}

/**
 * The admin listener of `tidings serve --workers` (`--admin-listen`), served by the primary:
 * `/metrics` adds up every worker's (prom-client's AggregatorRegistry) and has
 * `tidings_worker_*` per worker; `/livez` is the primary answering; `/readyz` is ready when
 * every worker runs and is ready. The dashboard and `/stats` show one hub process's live
 * state, which N processes do not have: they answer 404 and say what to use instead.
 */
export function createClusterAdminServer(state: ClusterState, logger: Logger): Server {
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  const registers = [own];
  new Gauge({
    name: 'tidings_worker_processes',
    help: 'Hub worker processes configured (--workers)',
    registers,
    collect() {
      this.set(state.workers);
    },
  });
  const running = new Gauge({
    name: 'tidings_worker_running',
    help: 'Hub worker processes running and listening now',
    registers,
  });
  const ready = new Gauge({
    name: 'tidings_worker_ready',
    help: 'Whether each worker would answer /readyz with 200 (1) or not (0)',
    labelNames: ['worker'],
    registers,
  });
  const connections = new Gauge({
    name: 'tidings_worker_connections',
    help: 'Subscriber streams open now, per worker',
    labelNames: ['worker'],
    registers,
  });
  const memory = new Gauge({
    name: 'tidings_worker_resident_memory_bytes',
    help: 'Resident memory of each worker process',
    labelNames: ['worker'],
    registers,
  });
  let restartsReported = 0;
  new Counter({
    name: 'tidings_worker_restarts_total',
    help: 'Workers started again after they exited while the hub was running',
    registers,
    collect() {
      this.inc(state.restarts - restartsReported);
      restartsReported = state.restarts;
    },
  });

  const metrics = async (response: ServerResponse) => {
    const [workersText, statuses] = await Promise.all([
      aggregator.clusterMetrics(),
      state.statuses(),
    ]);
    running.set(statuses.filter((status) => status.up).length);
    for (const status of statuses) {
      const labels = { worker: String(status.slot) };
      ready.set(labels, status.ready ? 1 : 0);
      connections.set(labels, status.connections);
      memory.set(labels, status.rssBytes);
    }
    const body = `${workersText.trimEnd()}\n\n${await own.metrics()}`;
    response.writeHead(200, {
      'Content-Type': aggregator.contentType,
      'Cache-Control': 'no-store',
    });
    response.end(body);
  };

  const readiness = async (response: ServerResponse) => {
    const headers = { 'Cache-Control': 'no-store' };
    const statuses = await state.statuses();
    const up = statuses.filter((status) => status.up).length;
    let reason: string | undefined;
    if (state.closing) reason = 'the hub is shutting down';
    else if (up < state.workers) {
      reason = `${up} of ${state.workers} workers are running; the others are being restarted`;
    } else {
      const notReady = statuses.find((status) => !status.ready);
      if (notReady) reason = `worker ${notReady.slot} is not ready: ${notReady.reason}`;
    }
    sendJson(
      response,
      reason === undefined ? 200 : 503,
      reason === undefined
        ? { status: 'ready', workers: state.workers }
        : { status: 'not-ready', workers: state.workers, running: up, reason },
      headers,
    );
  };

  const route = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://admin').pathname;
    switch (path) {
      case METRICS_PATH:
        return metrics(response);
      case '/livez':
        return sendJson(
          response,
          200,
          { status: 'ok', uptimeSeconds: Math.round(process.uptime()) },
          { 'Cache-Control': 'no-store' },
        );
      case '/healthz':
        return sendJson(
          response,
          state.closing ? 503 : 200,
          { status: state.closing ? 'shutting-down' : 'ok', workers: state.workers },
          { 'Cache-Control': 'no-store' },
        );
      case '/readyz':
        return readiness(response);
      case '/':
      case STATS_PATH:
      case DEV_TOKEN_PATH:
        return sendText(
          response,
          404,
          `the dashboard and /stats show one hub process, and this hub runs ${state.workers} (--workers): run it without --workers to use them, or read /metrics here (every worker added up, tidings_worker_* per worker)\n`,
        );
      default:
        return sendText(
          response,
          404,
          path.startsWith(HUB_PATH)
            ? `this is the admin address of a hub run with --workers: publish and subscribe on the public port\n`
            : `not found: the admin address of a hub run with --workers serves ${METRICS_PATH}, /livez, /readyz and /healthz\n`,
        );
    }
  };

  return createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      logger.warn({ err: error, url: request.url }, 'admin request failed');
      if (!response.headersSent) {
        sendText(
          response,
          503,
          `the workers did not answer: ${(error as Error).message}; try again in a moment\n`,
          { 'Retry-After': '1' },
        );
      } else response.end();
    });
  });
}
