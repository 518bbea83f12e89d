/**
 * `npm run bench:hub-http2`: memory per idle subscriber of the hub (`tidings serve`, its own
 * process) over plain HTTP/1.1 (the peer every row is compared with), HTTP/1.1 over TLS, and
 * HTTP/2 over TLS with one stream per connection and with 100 streams per connection.
 *
 * The hub's resident memory is read after a full GC (gc-on-signal.ts) before and after the
 * subscribers connect; the clients run in this process, so their memory is not counted.
 * Each mode runs --rounds times (a fresh hub each time); the median and the worst round are
 * printed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type ClientHttp2Session, connect as connectHttp2 } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { parseArgs } from 'node:util';
import { HUB_TOPIC, startHub } from '../hub/hub-process.js';
import { sleep } from '../load/report.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
  },
});
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const PATH = `/.well-known/mercure?topic=${encodeURIComponent(HUB_TOPIC)}`;
const REQUEST = `GET ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`;

interface Mode {
  name: string;
  tls: boolean;
  /** Streams per HTTP/2 connection; 0 for HTTP/1.1. */
  streamsPerConnection: number;
}

const MODES: Mode[] = [
  { name: 'HTTP/1.1', tls: false, streamsPerConnection: 0 },
  { name: 'HTTP/1.1 + TLS', tls: true, streamsPerConnection: 0 },
  { name: 'HTTP/2 + TLS, 1 stream/conn', tls: true, streamsPerConnection: 1 },
  { name: 'HTTP/2 + TLS, 100 streams/conn', tls: true, streamsPerConnection: 100 },
];

function makeCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}

/** An HTTP/1.1 subscriber; resolves once the head of its stream arrived. */
function http1Subscriber(port: number, tls: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tls
      ? connectTls({
          host: '127.0.0.1',
          port,
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        })
      : connectTcp(port, '127.0.0.1');
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write(REQUEST));
    socket.once('data', (chunk: Buffer) => {
      if (chunk.toString('latin1').startsWith('HTTP/1.1 200')) resolve(socket);
      else reject(new Error(`subscribe refused: ${chunk.toString('latin1').split('\r\n')[0]}`));
    });
    socket.once('error', reject);
  });
}

/** An HTTP/2 connection with `streams` open subscriptions. */
async function http2Subscriber(port: number, streams: number): Promise<ClientHttp2Session> {
  const session = connectHttp2(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  await Promise.all(
    Array.from(
      { length: streams },
      () =>
        new Promise<void>((resolve, reject) => {
          const stream = session.request({ ':path': PATH, accept: 'text/event-stream' });
          stream.once('response', (headers) =>
            headers[':status'] === 200
              ? resolve()
              : reject(new Error(`status ${headers[':status']}`)),
          );
          stream.once('error', reject);
          stream.resume();
        }),
    ),
  );
  return session;
}

/** Opens `count` things, at most 100 at a time (a burst would hit the accept backlog). */
async function openAll<T>(count: number, open: () => Promise<T>): Promise<T[]> {
  const opened: T[] = [];
  for (let done = 0; done < count; done += 100) {
    opened.push(...(await Promise.all(Array.from({ length: Math.min(100, count - done) }, open))));
  }
  return opened;
}

interface Round {
  /** Bytes of hub RSS per connection. */
  perConnection: number;
  /** Bytes of hub RSS per subscriber (stream). */
  perStream: number;
}

async function round(
  mode: Mode,
  certificate: { certFile: string; keyFile: string },
): Promise<Round> {
  const hub = await startHub([
    '--heartbeat',
    '0',
    ...(mode.tls ? ['--tls-cert', certificate.certFile, '--tls-key', certificate.keyFile] : []),
  ]);
  try {
    const { port } = hub.target;
    // Warm up the code paths so the baseline holds what any connection needs once.
    const warm =
      mode.streamsPerConnection > 0
        ? await http2Subscriber(port, 1)
        : await http1Subscriber(port, mode.tls);
    const before = await hub.rssBytes();
    let connections: number;
    let streams: number;
    let close: () => void;
    if (mode.streamsPerConnection === 0) {
      const sockets = await openAll(CONNECTIONS, () => http1Subscriber(port, mode.tls));
      connections = streams = sockets.length;
      close = () => {
        for (const socket of sockets) socket.destroy();
      };
    } else {
      // One stream per connection: as many connections as subscribers; else fewer.
      const count = Math.ceil(CONNECTIONS / mode.streamsPerConnection);
      const sessions = await openAll(count, () => http2Subscriber(port, mode.streamsPerConnection));
      connections = sessions.length;
      streams = sessions.length * mode.streamsPerConnection;
      close = () => {
        for (const session of sessions) session.destroy();
      };
    }
    await sleep(200);
    const after = await hub.rssBytes();
    close();
    if ('destroy' in warm) warm.destroy();
    const grown = after - before;
    return { perConnection: grown / connections, perStream: grown / streams };
  } finally {
    await hub.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-tls-'));
  try {
    const certificate = makeCertificate(dir);
    console.log(
      `hub memory per idle subscriber, ${CONNECTIONS} subscribers, ${ROUNDS} rounds, Node ${process.version}\n`,
    );
    console.log(
      '| mode | per subscriber (median) | worst | per connection (median) | vs HTTP/1.1 |',
    );
    console.log('|---|---|---|---|---|');
    let peer: number | undefined;
    for (const mode of MODES) {
      const rounds: Round[] = [];
      for (let i = 0; i < ROUNDS; i++) rounds.push(await round(mode, certificate));
      const perStream = median(rounds.map((r) => r.perStream));
      const worst = Math.max(...rounds.map((r) => r.perStream));
      const perConnection = median(rounds.map((r) => r.perConnection));
      peer ??= perStream;
      console.log(
        `| ${mode.name} | ${kb(perStream)} | ${kb(worst)} | ${kb(perConnection)} | ${(perStream / peer).toFixed(2)}× |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
