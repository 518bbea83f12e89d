import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuthConfig } from '../auth/index.js';
import { mintToken } from '../auth/index.js';
import { brokerSchemes } from '../broker/broker.js';
import { redactedTransport } from '../broker/redacted-transport.js';
import { runPrimary } from '../cluster/primary.js';
import { type WorkerLink, workerLink } from '../cluster/worker.js';
import { parseWorkerCount } from '../cluster/worker-count.js';
import '../broker/memory-broker.js';
import { Hub } from '../hub.js';
import { HUB_DEFAULTS, HUB_OPTION_RANGES, type HubOptions, isCookieName } from '../hub-options.js';
import { createLogger, type Logger } from '../logger.js';
import { HUB_PATH } from '../protocol/draft-07.js';
import {
  startTracingSdk,
  type TracingPlan,
  type TracingSdk,
  tracingPlan,
} from '../tracing/otel-sdk.js';
import {
  CommandFailure,
  EXIT_CODES_HELP,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
} from './exit-codes.js';
import type { CliIo } from './io.js';
import { JWT_ALGORITHMS, keyConfigFrom } from './key-config.js';
import { type ListenAddress, parseListenAddress } from './listen-address.js';
import {
  formatOptionsHelp,
  type OptionSpec,
  type OptionValues,
  parseFlags,
  readConfigObject,
  readEnvironment,
  UsageError,
} from './options.js';
import { type ReloadStep, reloadOnHangup } from './reload.js';
import {
  reloadTlsStep,
  resolveServeTls,
  SERVE_TLS_OPTIONS,
  type ServeTlsConfig,
} from './serve-tls.js';

/** A flag's bounds: the same as the hub option it sets, so the CLI refuses what the hub would. */
function rangeOf(
  option: keyof typeof HUB_OPTION_RANGES,
): Pick<OptionSpec, 'min' | 'max' | 'rangeNote'> {
  const { min, max, note } = HUB_OPTION_RANGES[option];
  return { min, max, rangeNote: note };
}

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'port',
    type: 'integer',
    env: 'TIDINGS_PORT',
    defaultText: '3000',
    placeholder: 'number',
    description: 'TCP port to listen on (0 picks a free one)',
    min: 0,
    max: 65_535,
    rangeNote: '0 picks a free port',
  },
  {
    name: 'host',
    type: 'string',
    env: 'TIDINGS_HOST',
    defaultText: 'all interfaces; 127.0.0.1 with --dev',
    placeholder: 'address',
    description: 'Address to listen on',
  },
  ...SERVE_TLS_OPTIONS,
  {
    name: 'admin-listen',
    type: 'string',
    env: 'TIDINGS_ADMIN_LISTEN',
    defaultText: 'off; with --dev the main port serves them',
    placeholder: '[host:]port',
    description:
      'Serve the dashboard, /stats and /metrics (and the hub) on this second address; the host defaults to 127.0.0.1',
  },
  {
    name: 'transport',
    type: 'string',
    env: 'TIDINGS_TRANSPORT',
    defaultText: HUB_DEFAULTS.transport,
    placeholder: 'url',
    description:
      'Broker, chosen by URL scheme. memory://[?max_events=10000&max_bytes=64MiB&max_age=1h] keeps history in this process; redis://[user:pass@]host:port[/db][?key=tidings&max_events=10000&max_age=24h&wait=0&timeout=2s&presence_heartbeat=5s&presence_ttl=15s] (rediss:// for TLS; needs @tidings/redis) shares it between hubs; redis+sentinel://[user:pass@]host:26379[,host2:26379]/<master name>[/db][?...&sentinel_password=…] (rediss+sentinel:// for TLS) finds the primary through Redis Sentinel and follows its failovers. Redis Cluster is refused',
  },
  {
    name: 'workers',
    type: 'string',
    env: 'TIDINGS_WORKERS',
    defaultText: 'off: one process',
    placeholder: 'count|auto',
    description:
      'Run this many hub processes sharing the port (auto: one per core), to use every core and pass the per-process open-file limit; needs a shared transport (redis://)',
  },
  {
    name: 'jwt-key',
    type: 'string',
    env: 'TIDINGS_JWT_KEY',
    placeholder: 'key',
    description:
      'Key verifying publisher and subscriber tokens: an HMAC secret (32+ bytes), @file (PEM public key, JWKS or secret), an inline PEM, or a JWKS https:// URL',
  },
  {
    name: 'publisher-jwt-key',
    type: 'string',
    env: 'TIDINGS_PUBLISHER_JWT_KEY',
    placeholder: 'key',
    description: 'Key for publisher tokens only (overrides --jwt-key)',
  },
  {
    name: 'subscriber-jwt-key',
    type: 'string',
    env: 'TIDINGS_SUBSCRIBER_JWT_KEY',
    placeholder: 'key',
    description: 'Key for subscriber tokens only (overrides --jwt-key)',
  },
  {
    name: 'jwt-algorithm',
    type: 'string',
    env: 'TIDINGS_JWT_ALGORITHM',
    defaultText: 'HS256 for secrets, RS256 for PEM keys',
    placeholder: 'alg',
    description: `The one algorithm accepted (${JWT_ALGORITHMS.join('|')})`,
  },
  {
    name: 'anonymous',
    type: 'boolean',
    env: 'TIDINGS_ANONYMOUS',
    defaultText: 'off; on with --dev',
    description: 'Let subscribers without a token receive public updates',
  },
  {
    name: 'cors-origins',
    type: 'list',
    env: 'TIDINGS_CORS_ORIGINS',
    defaultText: 'none; * with --dev',
    placeholder: 'origins',
    description:
      'Comma-separated origins allowed from browsers (CORS with credentials, cookie-auth check); * allows any origin without credentials',
  },
  {
    name: 'cookie-name',
    type: 'string',
    env: 'TIDINGS_COOKIE_NAME',
    defaultText: 'mercureAuthorization',
    placeholder: 'name',
    description: 'Cookie holding a subscriber token',
  },
  {
    name: 'mercure-drafts',
    type: 'string',
    env: 'TIDINGS_MERCURE_DRAFTS',
    defaultText: '07,08',
    placeholder: 'list',
    description: 'Mercure drafts spoken: 07 (Mercure 0.x), 08 (Mercure 1.0), or both',
  },
  {
    name: 'public-url',
    type: 'string',
    env: 'TIDINGS_PUBLIC_URL',
    placeholder: 'url',
    description:
      "The hub's public URL (base of URL patterns, audience of draft-08 tokens); default: from each request",
  },
  {
    name: 'jwt-issuer',
    type: 'string',
    env: 'TIDINGS_JWT_ISSUER',
    placeholder: 'iss',
    description: 'Draft-08: the issuer (iss) access tokens must come from',
  },
  {
    name: 'jwt-audience',
    type: 'string',
    env: 'TIDINGS_JWT_AUDIENCE',
    placeholder: 'aud',
    description: "Draft-08: the audience (aud) access tokens must name; default: the hub's URL",
  },
  {
    name: 'subscriptions',
    type: 'boolean',
    env: 'TIDINGS_SUBSCRIPTIONS',
    defaultText: 'off',
    description: 'Publish subscription events and serve /.well-known/mercure/subscriptions',
  },
  {
    name: 'heartbeat',
    type: 'duration',
    env: 'TIDINGS_HEARTBEAT',
    defaultText: '15s',
    placeholder: 'duration',
    description: 'Keep-alive comment interval on idle streams (0 turns it off)',
    ...rangeOf('heartbeatMs'),
  },
  {
    name: 'max-body',
    type: 'bytes',
    env: 'TIDINGS_MAX_BODY',
    defaultText: '1MiB',
    placeholder: 'size',
    description: 'Largest publish request body (413 beyond)',
    ...rangeOf('maxBodyBytes'),
  },
  {
    name: 'body-timeout',
    type: 'duration',
    env: 'TIDINGS_BODY_TIMEOUT',
    defaultText: '30s',
    placeholder: 'duration',
    description:
      'How long a publish body may take to arrive (408 and the connection closed beyond)',
    ...rangeOf('bodyTimeoutMs'),
  },
  {
    name: 'headers-timeout',
    type: 'duration',
    env: 'TIDINGS_HEADERS_TIMEOUT',
    defaultText: '10s',
    placeholder: 'duration',
    description: 'How long a request line and headers may take to arrive (408 and closed beyond)',
    ...rangeOf('headersTimeoutMs'),
  },
  {
    name: 'max-topics',
    type: 'integer',
    env: 'TIDINGS_MAX_TOPICS',
    defaultText: String(HUB_DEFAULTS.maxTopicsPerSubscription),
    placeholder: 'number',
    description: 'Most topics per subscription and per update (400 beyond)',
    ...rangeOf('maxTopicsPerUpdate'),
  },
  {
    name: 'max-topic-length',
    type: 'integer',
    env: 'TIDINGS_MAX_TOPIC_LENGTH',
    defaultText: String(HUB_DEFAULTS.maxTopicLength),
    placeholder: 'characters',
    description: 'Longest topic or topic selector (400 beyond); matching cost grows with it',
    ...rangeOf('maxTopicLength'),
  },
  {
    name: 'max-connections',
    type: 'integer',
    env: 'TIDINGS_MAX_CONNECTIONS',
    defaultText: '0 (no limit)',
    placeholder: 'number',
    description: 'Most open streams in total (503 + Retry-After beyond)',
    ...rangeOf('maxConnections'),
  },
  {
    name: 'max-connections-per-ip',
    type: 'integer',
    env: 'TIDINGS_MAX_CONNECTIONS_PER_IP',
    defaultText: '0 (no limit)',
    placeholder: 'number',
    description: 'Most open streams per client address (429 + Retry-After beyond)',
    ...rangeOf('maxConnectionsPerIp'),
  },
  {
    name: 'retry-after',
    type: 'integer',
    env: 'TIDINGS_RETRY_AFTER',
    defaultText: String(HUB_DEFAULTS.retryAfterSeconds),
    placeholder: 'seconds',
    description: 'Retry-After sent with 503 and 429',
    ...rangeOf('retryAfterSeconds'),
  },
  {
    name: 'max-queue',
    type: 'bytes',
    env: 'TIDINGS_MAX_QUEUE',
    defaultText: '1MiB',
    placeholder: 'size',
    description:
      'How far a subscriber may fall behind before it is disconnected (it resumes with Last-Event-ID)',
    ...rangeOf('maxQueueBytes'),
  },
  {
    name: 'trust-proxy',
    type: 'boolean',
    env: 'TIDINGS_TRUST_PROXY',
    defaultText: 'off',
    description:
      'Count per-address limits by the last X-Forwarded-For entry (behind a reverse proxy)',
  },
  {
    name: 'dashboard',
    type: 'boolean',
    env: 'TIDINGS_DASHBOARD',
    defaultText: 'on',
    description:
      'Serve the dashboard at / and its /stats stream beside /metrics (--no-dashboard turns it off)',
  },
  {
    name: 'shutdown-retry',
    type: 'duration',
    env: 'TIDINGS_SHUTDOWN_RETRY',
    defaultText: '1s',
    placeholder: 'duration',
    description:
      'retry: sent to open streams on shutdown, so clients reconnect (elsewhere) about this soon',
    ...rangeOf('shutdownRetryMs'),
  },
  {
    name: 'shutdown-timeout',
    type: 'duration',
    env: 'TIDINGS_SHUTDOWN_TIMEOUT',
    defaultText: '10s',
    placeholder: 'duration',
    description: 'How long shutdown waits for requests in flight',
    ...rangeOf('shutdownTimeoutMs'),
  },
  {
    name: 'log-level',
    type: 'string',
    env: 'TIDINGS_LOG_LEVEL',
    defaultText: 'info',
    placeholder: 'level',
    description: 'fatal|error|warn|info|debug|trace|silent',
  },
  {
    name: 'log-format',
    type: 'string',
    env: 'TIDINGS_LOG_FORMAT',
    defaultText: 'pretty in a terminal, else json',
    placeholder: 'format',
    description: 'json|pretty',
  },
  {
    name: 'config',
    type: 'string',
    env: 'TIDINGS_CONFIG',
    placeholder: 'file',
    description:
      'JSON file of options, keyed by these flag names; flags and environment variables override it',
  },
  {
    name: 'dev',
    type: 'boolean',
    env: 'TIDINGS_DEV',
    description:
      'Local development: anonymous subscribers, CORS for any origin, a generated secret and publisher token (printed), the dashboard can publish and mint tokens',
  },
  { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' },
];

export const SERVE_HELP = `Usage: tidings serve [options]

Runs a Mercure hub (draft-07) at /.well-known/mercure, with health checks at /livez,
/readyz and /healthz. The dashboard at /, /stats and /metrics (Prometheus) are served
only on the admin address (--admin-listen), or on the main port with --dev. Options
come from flags, then TIDINGS_* environment variables, then the --config file, then
defaults.

Options:
${formatOptionsHelp(SERVE_OPTIONS)}

Transports: ${brokerSchemes()
  .map((scheme) => `${scheme}://`)
  .join(', ')}

${EXIT_CODES_HELP}

Examples:
  tidings serve --dev
  TIDINGS_JWT_KEY=$(openssl rand -base64 32) tidings serve --port 8080 --anonymous
  tidings serve --jwt-key @/etc/tidings/publisher.pem --jwt-algorithm ES256 --cors-origins https://app.example
  tidings serve --jwt-key @/etc/tidings/secret --admin-listen 127.0.0.1:9090
  tidings serve --jwt-key @/etc/tidings/secret --tls-cert fullchain.pem --tls-key privkey.pem --port 443
  tidings serve --jwt-key @/etc/tidings/secret --transport redis://127.0.0.1:6379 --workers auto
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** What `serve` resolved from its sources, ready to start. */
export interface ServeConfig {
  port: number;
  host: string | undefined;
  /** The admin listener (dashboard, /stats, /metrics), when asked for. */
  adminListen: ListenAddress | undefined;
  dev: boolean;
  /** The generated secret in dev mode, to print. */
  devSecret: string | undefined;
  /** A publisher token to print and give the dashboard (dev mode). */
  devToken: string | undefined;
  hubOptions: Omit<HubOptions, 'logger'>;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: 'json' | 'pretty' | undefined;
  /** TLS or h2c on the main port, and the certificate files to reload on SIGHUP. */
  tls: ServeTlsConfig;
  /** Hub processes for `--workers` (a primary forks them), or `undefined` for one process. */
  workers: number | undefined;
}

/** Merges flags, environment and config file (in that order of precedence) into a config. */
export async function resolveServeConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<ServeConfig | 'help'> {
  const flags = parseFlags(argv, SERVE_OPTIONS);
  if (flags.values.help) return 'help';
  if (flags.positionals.length > 0) {
    throw new UsageError(`serve takes no arguments, got "${flags.positionals.join(' ')}"`);
  }
  const fromEnv = readEnvironment(SERVE_OPTIONS, env);
  const configFile = (flags.values.config ?? fromEnv.config) as string | undefined;
  let fromFile: OptionValues = {};
  if (configFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read config file ${configFile}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(
        `config file ${configFile} is not valid JSON: ${(error as Error).message}`,
      );
    }
    fromFile = readConfigObject(SERVE_OPTIONS, parsed, configFile);
  }
  const values: OptionValues = { ...fromFile, ...fromEnv, ...flags.values };
  const get = <T>(name: string): T | undefined => values[name] as T | undefined;

  const keyOption = (name: string, fallback: string | undefined) => {
    const own = get<string>(name);
    if (own !== undefined) return { value: own, what: `--${name}` };
    return fallback === undefined ? undefined : { value: fallback, what: '--jwt-key' };
  };
  const dev = get<boolean>('dev') === true;
  const algorithm = get<string>('jwt-algorithm');
  let jwtKey = get<string>('jwt-key');
  let devSecret: string | undefined;
  if (jwtKey === undefined && get('publisher-jwt-key') === undefined) {
    if (!dev) {
      throw new UsageError(
        'no key to verify tokens: pass --jwt-key (or TIDINGS_JWT_KEY), or --dev for a local development hub',
      );
    }
    devSecret = randomBytes(32).toString('base64url');
    jwtKey = devSecret;
  }
  // Each key is read under the name of the option it came from, so an error points there.
  const publisherKey = keyOption('publisher-jwt-key', jwtKey);
  const subscriberKey = keyOption('subscriber-jwt-key', jwtKey) ?? publisherKey;
  if (publisherKey === undefined || subscriberKey === undefined) {
    throw new UsageError('no key for subscriber tokens: pass --jwt-key or --subscriber-jwt-key');
  }

  const logLevel = get<string>('log-level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const logFormat = get<string>('log-format');
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new UsageError(`--log-format must be json or pretty, got "${logFormat}"`);
  }
  const transport = get<string>('transport') ?? HUB_DEFAULTS.transport;
  const scheme = transport.split(':', 1)[0]!.toLowerCase();
  if (REDIS_SCHEMES.includes(scheme) && !brokerSchemes().includes(scheme)) {
    await loadRedisTransport(scheme);
  }
  if (!brokerSchemes().includes(scheme)) {
    throw new UsageError(
      `unknown transport "${redactedTransport(transport)}": known schemes are ${brokerSchemes()
        .map((s) => `${s}://`)
        .join(', ')}`,
    );
  }
  const workersText = get<string>('workers');
  let workers: number | undefined;
  if (workersText !== undefined) {
    const parsed = parseWorkerCount(workersText);
    if ('error' in parsed) throw new UsageError(parsed.error);
    workers = parsed.count;
    if (scheme === 'memory') {
      throw new UsageError(
        `--workers needs a transport the workers share: on ${transport} each worker would keep its own updates and a subscriber would miss what was published to another; use --transport redis://host:port, or drop --workers`,
      );
    }
  }

  const auth: AuthConfig = {
    publisherKey: keyConfigFrom(publisherKey.value, algorithm, publisherKey.what),
    subscriberKey: keyConfigFrom(subscriberKey.value, algorithm, subscriberKey.what),
    anonymous: get<boolean>('anonymous') ?? dev,
    allowedOrigins: get<string[]>('cors-origins') ?? (dev ? ['*'] : []),
  };
  const cookieName = get<string>('cookie-name');
  if (cookieName !== undefined) {
    if (!isCookieName(cookieName)) {
      throw new UsageError(
        `--cookie-name: ${JSON.stringify(cookieName)} is not a cookie name; use letters, digits and !#$%&'*+-.^_\`|~ only`,
      );
    }
    auth.cookieName = cookieName;
  }
  auth.issuer = get<string>('jwt-issuer');
  auth.audience = get<string>('jwt-audience');
  const drafts = (get<string>('mercure-drafts') ?? '07,08').split(',').map((d) => d.trim());
  if (drafts.length === 0 || !drafts.every((d) => d === '07' || d === '08')) {
    throw new UsageError(`--mercure-drafts must be 07, 08 or 07,08, got "${drafts.join(',')}"`);
  }
  const publicUrl = get<string>('public-url');
  if (publicUrl !== undefined && !URL.canParse(publicUrl)) {
    throw new UsageError(`--public-url must be an absolute URL, got "${publicUrl}"`);
  }

  const publisherSecret =
    auth.publisherKey.kind === 'secret' ? auth.publisherKey.secret : undefined;
  const devToken =
    dev && publisherSecret !== undefined
      ? await mintToken({ secret: publisherSecret, publish: ['*'], subscribe: ['*'] })
      : undefined;

  const tls = resolveServeTls(get);
  const maxTopics = get<number>('max-topics');
  const adminListenText = get<string>('admin-listen');
  const hubOptions: Omit<HubOptions, 'logger'> = {
    auth,
    transport,
    heartbeatMs: get<number>('heartbeat'),
    subscriptions: get<boolean>('subscriptions'),
    maxBodyBytes: get<number>('max-body'),
    bodyTimeoutMs: get<number>('body-timeout'),
    headersTimeoutMs: get<number>('headers-timeout'),
    maxTopicsPerSubscription: maxTopics,
    maxTopicsPerUpdate: maxTopics,
    maxTopicLength: get<number>('max-topic-length'),
    maxConnections: get<number>('max-connections'),
    maxConnectionsPerIp: get<number>('max-connections-per-ip'),
    retryAfterSeconds: get<number>('retry-after'),
    maxQueueBytes: get<number>('max-queue'),
    trustProxy: get<boolean>('trust-proxy'),
    // Development keeps everything on one port; in production only the admin listener has them.
    admin: dev ? 'public' : 'separate',
    dashboard: get<boolean>('dashboard'),
    devPublisherToken: devToken,
    devSecret: dev ? publisherSecret : undefined,
    shutdownRetryMs: get<number>('shutdown-retry'),
    shutdownTimeoutMs: get<number>('shutdown-timeout'),
    mercureDrafts: drafts as ('07' | '08')[],
    publicUrl,
  };
  return {
    port: get<number>('port') ?? 3000,
    host: get<string>('host') ?? (dev ? '127.0.0.1' : undefined),
    adminListen:
      adminListenText === undefined
        ? undefined
        : parseListenAddress(adminListenText, '--admin-listen'),
    dev,
    devSecret,
    devToken,
    hubOptions,
    logLevel: logLevel as ServeConfig['logLevel'],
    logFormat: logFormat as ServeConfig['logFormat'],
    tls,
    workers,
  };
}

/**
 * `tidings serve`: starts the hub, prints where it is (and, in dev mode, a publisher token
 * and a curl to try), and shuts down gracefully on SIGTERM or SIGINT (exit code 0). SIGHUP
 * reloads what can be reloaded ({@link reloadOnHangup}). With `--workers N` this process
 * becomes the primary of N hub processes (cluster/primary.ts), each running this same
 * command as a worker.
 */
export async function serve(argv: readonly string[], io: CliIo): Promise<number> {
  const config = await resolveServeConfig(argv, io.env);
  if (config === 'help') {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  // Read before anything starts, so a wrong OTEL_* variable is a usage error said once
  // (by the primary of --workers, whose workers each start their own SDK).
  const tracing = tracingPlan(io.env);
  if (config.workers !== undefined && cluster.isPrimary) return servePrimary(config, argv, io);
  const worker = config.workers === undefined ? undefined : workerLink(io);
  return serveHub(config, worker?.io ?? io, worker, tracing);
}

/** The primary of `--workers`: no hub of its own; the banner once every worker listens. */
function servePrimary(config: ServeConfig, argv: readonly string[], io: CliIo): Promise<number> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  return runPrimary({
    workers: config.workers!,
    argv,
    // Every worker must verify tokens with the one secret this banner prints.
    env: config.devSecret === undefined ? {} : { TIDINGS_JWT_KEY: config.devSecret },
    io,
    logger,
    shutdownTimeoutMs: config.hubOptions.shutdownTimeoutMs ?? HUB_DEFAULTS.shutdownTimeoutMs,
    adminListen: config.adminListen,
    listening: (port, adminPort) => {
      const scheme =
        config.tls.security !== undefined && 'tls' in config.tls.security ? 'https' : 'http';
      const base = `${scheme}://${displayHostOf(config.host)}:${port}`;
      const adminBase =
        config.adminListen && adminPort !== undefined
          ? `http://${urlHost(config.adminListen.host)}:${adminPort}`
          : undefined;
      io.stderr.write(banner(base, adminBase, config));
    },
  });
}

/** One hub process: the whole hub, or one worker of `--workers` (`worker` set). */
async function serveHub(
  config: ServeConfig,
  io: CliIo,
  worker: WorkerLink | undefined,
  tracing: TracingPlan,
): Promise<number> {
  const rootLogger = createLogger({ level: config.logLevel, format: config.logFormat });
  const logger = worker === undefined ? rootLogger : rootLogger.child({ worker: worker.id });
  // Registered before the hub exists, so its first publish is traced.
  const sdk = await startTracingSdk(tracing, { name: 'tidings-hub', version: hubVersion() });
  let hub: Hub;
  try {
    hub = await Hub.create({
      ...config.hubOptions,
      // A worker's dashboard would show one process of N: the primary's admin address says so.
      ...(worker === undefined ? {} : { admin: 'separate' as const }),
      logger,
    });
  } catch (error) {
    await sdk?.shutdown();
    throw error;
  }
  let address: { port: number };
  try {
    address = await hub.listen(config.port, config.host, config.tls.security);
  } catch (error) {
    // Nothing was served: the one line below says all, without shutdown logs before it.
    logger.level = 'silent';
    await hub.close();
    await flushTracing(sdk, logger);
    throw listenFailure(error as NodeJS.ErrnoException, config);
  }
  let adminAddress: { port: number } | undefined;
  if (config.adminListen !== undefined && worker === undefined) {
    const { host, port } = config.adminListen;
    try {
      adminAddress = await hub.listenAdmin(port, host);
    } catch (error) {
      await hub.close();
      await flushTracing(sdk, logger);
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new UsageError(
          `admin port ${port} is already in use: pick another with --admin-listen`,
        );
      }
      throw error;
    }
  }
  const scheme =
    config.tls.security !== undefined && 'tls' in config.tls.security ? 'https' : 'http';
  const base = `${scheme}://${displayHostOf(config.host)}:${address.port}`;
  const adminBase =
    config.adminListen && adminAddress
      ? `http://${urlHost(config.adminListen.host)}:${adminAddress.port}`
      : config.dev
        ? base
        : undefined;
  if (worker === undefined) io.stderr.write(banner(base, adminBase, config));
  else worker.started(hub, address.port);
  logger.info(
    {
      url: base,
      port: address.port,
      adminUrl: adminBase,
      transport: config.hubOptions.transport,
      dev: config.dev,
      http2: config.tls.security !== undefined,
    },
    'hub listening',
  );

  const done = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second Ctrl-C: the person wants out now.
        resolve(EXIT_INTERRUPTED);
        return;
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      hub.close().then(
        // The spans of the last updates are exported before the process ends.
        () => flushTracing(sdk, logger).then(() => resolve(EXIT_OK)),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(EXIT_FAILURE);
        },
      );
    };
    io.onSignal('SIGTERM', stop);
    io.onSignal('SIGINT', stop);
  });
  // What SIGHUP reloads, alone or as a worker (the primary passes SIGHUP on to every
  // worker): each step is added here. With none, the listener still keeps SIGHUP from
  // ending the hub.
  const reloadSteps: ReloadStep[] = [];
  const tlsStep = reloadTlsStep(hub, config.tls);
  if (tlsStep !== undefined) reloadSteps.push(tlsStep);
  io.onSignal('SIGHUP', () => void reloadOnHangup(reloadSteps, logger));
  return done;
}

/** Exports what the SDK still holds; a collector that cannot take it does not fail the stop. */
async function flushTracing(sdk: TracingSdk | undefined, logger: Logger): Promise<void> {
  try {
    await sdk?.shutdown();
  } catch (error) {
    logger.warn({ err: error }, 'the last spans could not be exported');
  }
}

function hubVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The host of the listening address as the banner shows it. */
function displayHostOf(host: string | undefined): string {
  return host === undefined || host === '0.0.0.0' || host === '::' || host === '127.0.0.1'
    ? 'localhost'
    : host.includes(':')
      ? `[${host}]`
      : host;
}

/** Why the hub could not listen, in one line that says what to change. */
function listenFailure(error: NodeJS.ErrnoException, config: ServeConfig): Error {
  const where = `${config.host ?? 'all interfaces'} port ${config.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new CommandFailure(
        `port ${config.port} is already in use: stop what holds it, or pick another with --port`,
      );
    case 'EACCES':
      return new CommandFailure(
        `no permission to listen on ${where}: ports below 1024 need privileges; pick another with --port`,
      );
    case 'EADDRNOTAVAIL':
      return new CommandFailure(
        `cannot listen on ${where}: the address is not on this machine; check --host`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CommandFailure(
        `cannot listen on ${where}: --host does not resolve (${error.code})`,
      );
    default:
      return error.code === undefined
        ? error
        : new CommandFailure(`cannot listen on ${where}: ${error.message}`);
  }
}

function banner(base: string, adminBase: string | undefined, config: ServeConfig): string {
  const lines = ['', `  Tidings hub listening on ${base}`, '', `  hub         ${base}${HUB_PATH}`];
  if (config.workers !== undefined) {
    lines.push(`  workers     ${config.workers} processes sharing the port (--workers)`);
  }
  if (adminBase === undefined) {
    lines.push(
      config.workers === undefined
        ? '  dashboard   off (serve it and /metrics with --admin-listen 127.0.0.1:9090)'
        : '  metrics     off (serve them, added up over the workers, with --admin-listen 127.0.0.1:9090)',
    );
  } else {
    // The dashboard shows one process: a hub of several has none (the admin address says why).
    if (config.hubOptions.dashboard !== false && config.workers === undefined) {
      lines.push(`  dashboard   ${adminBase}/`);
    }
    lines.push(`  metrics     ${adminBase}/metrics`);
  }
  lines.push(`  health      ${base}/livez  ${base}/readyz`);
  if (config.devSecret) {
    lines.push(`  dev secret  ${config.devSecret}  (generated; set your own with --jwt-key)`);
  }
  if (config.devToken) {
    const topic = 'https://example.com/books/1';
    lines.push(
      '',
      '  Development publisher token (may publish and subscribe to everything):',
      `  ${config.devToken}`,
      '',
      '  Watch a topic:',
      `  curl -N '${base}${HUB_PATH}?topic=${encodeURIComponent(topic)}'`,
      '',
      '  Publish to it:',
      `  curl -X POST '${base}${HUB_PATH}' -H 'Authorization: Bearer ${config.devToken}' --data-urlencode 'topic=${topic}' --data-urlencode 'data={"title":"Hello from Tidings"}'`,
    );
  } else {
    lines.push(
      '',
      '  Mint a publisher token with: tidings token --publish "*" --jwt-key <your key>',
    );
  }
  return `${lines.join('\n')}\n\n`;
}

/** A host as it is written in a URL: brackets around IPv6, `localhost` for the loopback. */
function urlHost(host: string): string {
  if (host === '127.0.0.1' || host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

const REDIS_SCHEMES = ['redis', 'rediss', 'redis+sentinel', 'rediss+sentinel'];

/** `@tidings/redis` registers the Redis schemes when imported; it is installed separately. */
async function loadRedisTransport(scheme: string): Promise<void> {
  // A specifier in a variable: the hub neither depends on nor type-checks against the package.
  const specifier = '@tidings/redis';
  try {
    await import(specifier);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new UsageError(
      `transport ${scheme}:// needs the @tidings/redis package: npm install @tidings/redis`,
    );
  }
}
