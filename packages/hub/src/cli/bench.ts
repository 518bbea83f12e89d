import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { mintToken } from '../auth/index.js';
import {
  DEFAULT_PUBLISH_CONNECTIONS,
  HttpPublisher,
  LoadFleet,
  type SequenceCounts,
  type SseTarget,
} from '../load/index.js';
import { benchResult } from './bench/bench-result.js';
import { htmlReport } from './bench/html-report.js';
import { textReport } from './bench/text-report.js';
import { checkSelectors } from './check-selectors.js';
import { readClientCommandLine } from './client-command.js';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.js';
import { HUB_URL_OPTION, hubUrl } from './hub-url.js';
import type { CliIo } from './io.js';
import { formatOptionsHelp, type OptionSpec, UsageError } from './options.js';

/** Connections one load process holds at most, well inside its open-files limit. */
const CONNECTIONS_PER_PROCESS = 8_000;
const PROGRESS_EVERY_MS = 500;

export const BENCH_OPTIONS: readonly OptionSpec[] = [
  HUB_URL_OPTION,
  {
    name: 'subscribers',
    short: 'n',
    type: 'integer',
    placeholder: 'count',
    defaultText: '100',
    min: 1,
    max: 1_000_000,
    description: 'Subscribers to hold open, spread over several load processes',
  },
  {
    name: 'rate',
    short: 'r',
    type: 'integer',
    placeholder: 'per-second',
    defaultText: '10',
    min: 1,
    max: 100_000,
    description: 'Updates published per second',
  },
  {
    name: 'duration',
    short: 'd',
    type: 'duration',
    placeholder: 'time',
    defaultText: '10s',
    min: 500,
    max: 24 * 3600_000,
    rangeNote: 'plain numbers are milliseconds; write e.g. 30s',
    description: 'How long to measure, after the warm-up',
  },
  {
    name: 'warmup',
    type: 'duration',
    placeholder: 'time',
    defaultText: '1s',
    max: 3600_000,
    description: 'Publishing before the measurement starts (not counted in the latency)',
  },
  {
    name: 'topic',
    short: 't',
    type: 'string',
    placeholder: 'topic',
    defaultText: 'urn:tidings:bench:<run>',
    description: 'Topic to publish to and subscribe to',
  },
  {
    name: 'token',
    type: 'string',
    env: 'TIDINGS_TOKEN',
    placeholder: 'jwt',
    description: 'Publisher token',
  },
  {
    name: 'jwt-key',
    type: 'string',
    env: 'TIDINGS_JWT_KEY',
    placeholder: 'secret',
    description: "Without --token: mint a publisher token for the topic with the hub's HMAC secret",
  },
  {
    name: 'subscriber-token',
    type: 'string',
    placeholder: 'jwt',
    description: 'Token the subscribers send (for a hub that refuses anonymous subscribers)',
  },
  {
    name: 'publish-connections',
    type: 'integer',
    placeholder: 'count',
    defaultText: String(DEFAULT_PUBLISH_CONNECTIONS),
    min: 1,
    max: 10_000,
    description:
      'Keep-alive connections the publisher spreads its requests over (one request each at a time)',
  },
  {
    name: 'processes',
    type: 'integer',
    placeholder: 'count',
    defaultText: `one per ${CONNECTIONS_PER_PROCESS} subscribers`,
    min: 1,
    max: 64,
    description: 'Load processes holding the subscribers',
  },
  {
    name: 'insecure',
    type: 'boolean',
    description: 'HTTPS: accept a certificate no trusted authority signed (a test hub)',
  },
  { name: 'json', type: 'string', placeholder: 'file', description: 'Write the results as JSON' },
  {
    name: 'html',
    type: 'string',
    placeholder: 'file',
    description: 'Write a self-contained HTML report with a latency chart',
  },
  { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' },
];

export const BENCH_HELP = `Usage: tidings bench --hub <url> [--subscribers N] [--rate R] [--duration D] [options]

Load-tests a Mercure hub (this one, Mercure, or any other): holds N subscribers on one
topic, publishes R numbered updates per second, and reports the publish-to-receive
latency (p50, p90, p99, max), deliveries per second, subscribers refused or closed by
the hub, and updates dropped, duplicated or out of order. The subscribers run in
separate load processes on this machine; a hub on this machine's loopback is reached
from source addresses spread over 127.0.0.x. Latency is read from a clock this
machine shares with itself, so the publisher and the subscribers always run here.

Options:
${formatOptionsHelp(BENCH_OPTIONS)}

Exit code 1 when every subscriber was refused or every publish failed.
What each figure means, and how to size a hub with it: docs/bench.md.

Examples:
  tidings bench --hub http://localhost:3000 --jwt-key "$SECRET" -n 1000 -r 100 -d 30s
  tidings bench --hub https://mercure.example.com/.well-known/mercure --token "$PUB" \\
    --subscriber-token "$SUB" -n 500 -r 50 --json bench.json --html bench.html
`;

/** `tidings bench`: a load test of a running hub; prints the summary, writes JSON and HTML. */
export async function bench(argv: readonly string[], io: CliIo): Promise<number> {
  const commandLine = readClientCommandLine(
    { name: 'bench', options: BENCH_OPTIONS, help: BENCH_HELP },
    argv,
    io,
  );
  if (!commandLine) return EXIT_OK;
  const { values } = commandLine;
  const url = hubUrl(values.hub as string | undefined);
  const subscribers = (values.subscribers as number | undefined) ?? 100;
  const rate = (values.rate as number | undefined) ?? 10;
  const durationMs = (values.duration as number | undefined) ?? 10_000;
  const warmupMs = (values.warmup as number | undefined) ?? 1_000;
  const publishConnections =
    (values['publish-connections'] as number | undefined) ?? DEFAULT_PUBLISH_CONNECTIONS;
  const processes =
    (values.processes as number | undefined) ??
    Math.max(1, Math.ceil(subscribers / CONNECTIONS_PER_PROCESS));
  if (processes > subscribers) {
    throw new UsageError(`--processes ${processes} is more than --subscribers ${subscribers}`);
  }
  const marker = `tidings-bench-${Date.now().toString(36)}-${process.pid}`;
  const topic = (values.topic as string | undefined) ?? `urn:tidings:bench:${marker}`;
  const jsonFile = outputFile(values.json as string | undefined, '--json');
  const htmlFile = outputFile(values.html as string | undefined, '--html');
  const insecure = values.insecure === true;

  let token = values.token as string | undefined;
  if (token === undefined) {
    const secret = values['jwt-key'] as string | undefined;
    if (secret === undefined) {
      throw new UsageError(
        'no publisher token: pass --token (TIDINGS_TOKEN) or --jwt-key (TIDINGS_JWT_KEY)',
      );
    }
    checkSelectors([topic], '--topic', 'mercure.publish claim of the token minted from --jwt-key');
    // Valid for the whole run and a margin, then useless to anyone who finds it.
    token = await mintToken({
      secret,
      publish: [topic],
      expiresIn: Math.ceil((warmupMs + durationMs) / 1000) + 300,
    });
  }
  const subscriberToken = values['subscriber-token'] as string | undefined;
  const { target, spread } = await subscribeTarget(url, topic, subscriberToken, insecure);

  const startedAt = new Date();
  const progress = io.stdout.isTTY === true ? new ProgressLine(io.stdout) : undefined;
  const fleet = LoadFleet.start(processes, []);
  const publisher = new HttpPublisher({
    url,
    token,
    topic,
    marker,
    insecure,
    connections: publishConnections,
  });
  try {
    await fleet.trackSequence(marker);
    progress?.show(`connecting ${subscribers} subscribers to ${url.host}…`);
    const connect = await fleet.connect(target, subscribers, {
      concurrency: 128,
      timeoutMs: 20_000,
      spreadSourceAddresses: spread,
    });
    if (connect.opened === 0) {
      progress?.clear();
      const reasons = Object.entries(connect.errors)
        .map(([reason, n]) => `${reason} ×${n}`)
        .join(', ');
      io.stderr.write(
        `tidings bench: every subscriber was refused (${reasons})${refusalHint(connect.errors, subscriberToken)}\n`,
      );
      return EXIT_FAILURE;
    }
    const publishing = publisher.run(rate, warmupMs + durationMs);
    const started = Date.now();
    const timer =
      progress === undefined
        ? undefined
        : setInterval(async () => {
            const stats = await fleet.stats().catch(() => undefined);
            if (stats === undefined) return;
            const elapsed = (Date.now() - started) / 1000;
            progress.show(
              `${elapsed.toFixed(1)}s of ${((warmupMs + durationMs) / 1000).toFixed(0)}s  ` +
                `${stats.open}/${subscribers} open  ${publisher.sent} published  ` +
                `${stats.events} received  ${stats.droppedByServer} closed by the hub`,
            );
          }, PROGRESS_EVERY_MS);
    try {
      await sleep(warmupMs);
      await fleet.measureStart();
      await sleep(durationMs);
      const window = await fleet.measureStop();
      const publish = await publishing;
      const sequence = await awaitStragglers(fleet, publisher.lastNumber);
      const stats = await fleet.stats();
      if (timer !== undefined) clearInterval(timer);
      progress?.clear();
      const result = benchResult({
        version: version(),
        startedAt,
        hub: url,
        topic,
        marker,
        options: { subscribers, rate, durationMs, warmupMs, processes, publishConnections },
        connect,
        publish,
        window,
        sequence,
        stats,
      });
      io.stdout.write(textReport(result));
      if (jsonFile !== undefined) {
        writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
        io.stdout.write(`wrote ${jsonFile}\n`);
      }
      if (htmlFile !== undefined) {
        writeFileSync(htmlFile, htmlReport(result));
        io.stdout.write(`wrote ${htmlFile}\n`);
      }
      if (publish.published > 0 && publish.failed === publish.published) {
        io.stderr.write(
          `tidings bench: the hub refused every publish (${Object.keys(publish.failures).join(', ')}); check --token or --jwt-key\n`,
        );
        return EXIT_FAILURE;
      }
      return EXIT_OK;
    } finally {
      if (timer !== undefined) clearInterval(timer);
    }
  } finally {
    publisher.close();
    await fleet.close();
  }
}

/** An update counts as dropped once nothing more has arrived for this long. */
const STRAGGLER_WAIT_MS = 2_000;

/**
 * The sequence counts once the updates still on their way have arrived: while some are
 * missing, wait as long as deliveries keep coming, and {@link STRAGGLER_WAIT_MS} after the
 * last one.
 */
async function awaitStragglers(fleet: LoadFleet, last: number): Promise<SequenceCounts> {
  let counts = await fleet.sequence(last);
  let progressAt = Date.now();
  while (counts.dropped > 0 && Date.now() - progressAt < STRAGGLER_WAIT_MS) {
    await sleep(50);
    const next = await fleet.sequence(last);
    if (next.received !== counts.received) progressAt = Date.now();
    counts = next;
  }
  return counts;
}

/**
 * The subscribe request for `topic`. A hub on the loopback is reached from 127.0.0.x source
 * addresses (each has its own ephemeral ports), which needs an IPv4 loopback address.
 */
async function subscribeTarget(
  url: URL,
  topic: string,
  subscriberToken: string | undefined,
  insecure: boolean,
): Promise<{ target: SseTarget; spread: boolean }> {
  const subscribe = new URL(url.href);
  subscribe.searchParams.append('topic', topic);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  let host = hostname;
  let spread = /^127\./.test(hostname);
  if (hostname === 'localhost') {
    const addresses = await lookup(hostname, { all: true }).catch(() => []);
    if (addresses.some((entry) => entry.address.startsWith('127.'))) {
      host = '127.0.0.1';
      spread = true;
    }
  }
  const https = url.protocol === 'https:';
  const target: SseTarget = {
    host,
    port: Number(url.port) || (https ? 443 : 80),
    path: subscribe.pathname + subscribe.search,
    ...(subscriberToken === undefined
      ? {}
      : { headers: { Authorization: `Bearer ${subscriberToken}` } }),
    // A certificate is checked against the name; SNI carries only names, never addresses.
    ...(https ? { tls: { insecure, ...(isIP(hostname) ? {} : { servername: hostname }) } } : {}),
  };
  return { target, spread };
}

function refusalHint(errors: Record<string, number>, subscriberToken: string | undefined): string {
  const statuses = Object.keys(errors);
  if (statuses.includes('status 401') || statuses.includes('status 403')) {
    return subscriberToken === undefined
      ? '; the hub refuses anonymous subscribers: pass --subscriber-token'
      : '; the hub does not accept --subscriber-token for this topic';
  }
  if (statuses.includes('ECONNREFUSED')) return '; is the hub running at --hub?';
  return '';
}

/** A file to write at the end, checked now so a long run is not lost to a typo. */
function outputFile(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  const file = resolve(path);
  const folder = dirname(file);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new UsageError(`${flag}: the folder ${folder} does not exist`);
  }
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new UsageError(`${flag}: ${file} is a folder`);
  }
  return file;
}

/** One line rewritten in place, for a terminal only: in a log, it would be noise. */
class ProgressLine {
  constructor(private readonly out: NodeJS.WritableStream) {}

  show(text: string): void {
    this.out.write(`\r\x1b[K${text}`);
  }

  clear(): void {
    this.out.write('\r\x1b[K');
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
