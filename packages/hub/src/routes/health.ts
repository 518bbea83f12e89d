import type { ServerResponse } from 'node:http';
import type { Broker, BrokerHealth } from '../broker/broker.js';
import { sendJson } from '../http/respond.js';
import type { HubContext } from '../hub-context.js';

/** The paths of the health checks, answered on the public and the admin listener alike. */
export const HEALTH_PATHS: ReadonlySet<string> = new Set(['/healthz', '/livez', '/readyz']);

/**
 * A readiness probe must answer even when the broker does not (a backend that hangs):
 * a load balancer that waits longer than its own timeout learns nothing.
 */
const BROKER_HEALTH_TIMEOUT_MS = 2000;

/** What the health checks read from the hub. */
export type HealthSource = Pick<
  HubContext,
  'broker' | 'metrics' | 'limiter' | 'options' | 'closing'
>;

/**
 * `/livez`, `/readyz` and `/healthz`, for the two questions an orchestrator asks:
 *
 * - live: does the process answer? Always 200 while it does, during shutdown too: a
 *   process that is draining its streams must not be killed for it.
 * - ready: should new clients be sent here? 503 during shutdown, while the broker cannot
 *   take updates, and while the hub is at `maxConnections` (it would refuse them anyway).
 *
 * `/healthz` is the older combined answer (503 from the moment shutdown begins), kept for
 * the load balancers already pointed at it.
 */
export async function answerHealth(
  source: HealthSource,
  path: string,
  response: ServerResponse,
): Promise<void> {
  // A probe's answer is about this instant: never let a cache answer for the hub.
  const headers = { 'Cache-Control': 'no-store' };
  if (path === '/livez') {
    sendJson(response, 200, { status: 'ok', uptimeSeconds: uptimeSeconds() }, headers);
    return;
  }
  if (path === '/healthz') {
    sendJson(
      response,
      source.closing ? 503 : 200,
      {
        status: source.closing ? 'shutting-down' : 'ok',
        broker: source.broker.name,
        connections: source.metrics.connections,
        uptimeSeconds: uptimeSeconds(),
      },
      headers,
    );
    return;
  }
  const reason = await notReadyReason(source);
  sendJson(
    response,
    reason === undefined ? 200 : 503,
    reason === undefined
      ? { status: 'ready', broker: source.broker.name }
      : { status: 'not-ready', broker: source.broker.name, reason },
    headers,
  );
}

/** Why the hub should get no new clients now, or `undefined` when it should. */
export async function notReadyReason(source: HealthSource): Promise<string | undefined> {
  if (source.closing) return 'the hub is shutting down';
  const { limiter } = source;
  const { maxConnections } = source.options;
  if (maxConnections > 0 && limiter.total >= maxConnections) {
    return `the hub is at its limit of ${maxConnections} open connections`;
  }
  const health = await brokerHealth(source.broker);
  if (!health.ready) {
    return `the ${source.broker.name} broker cannot take updates: ${health.reason ?? 'no reason given'}`;
  }
  // Shutdown may have begun while the broker was asked.
  if (source.closing) return 'the hub is shutting down';
  return undefined;
}

/**
 * Asks the broker, within a bounded time. `health()` promises never to throw; a broker of
 * someone else's that does still gets a 503 with its message, not a 500.
 */
async function brokerHealth(broker: Broker): Promise<BrokerHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<BrokerHealth>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ready: false,
          reason: `no answer within ${BROKER_HEALTH_TIMEOUT_MS / 1000} s`,
        }),
      BROKER_HEALTH_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      broker.health().catch(
        (error: unknown): BrokerHealth => ({
          ready: false,
          reason: error instanceof Error ? error.message : String(error),
        }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function uptimeSeconds(): number {
  return Math.round(process.uptime());
}
