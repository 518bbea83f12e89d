/**
 * `npm run bench:socket-floor`: what one idle connection costs a Node process before any SSE
 * code runs — a bare net.Socket, and node:http with an open response — and with it: an
 * @tidings/server EventStream, and the bound for any subscriber path that lets node:http read
 * the request and then takes the socket over (node:http's parser, request and response
 * dropped after the head; see idle-server.ts). Measured the same way
 * bench:server and bench:hub measure @tidings/server and the hub (RSS after a full GC, with
 * the connections open, minus before). It is the floor under the "bytes per idle
 * connection" figures of those benchmarks.
 */
import { type ChildProcess, fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const CONNECTIONS = positiveInteger('CONNECTIONS', 5000);
const RUNS = positiveInteger('RUNS', 3);
const serverPath = fileURLToPath(new URL('./idle-server.js', import.meta.url));

interface Sample {
  rss: number;
  heap: number;
  open: number;
}

function ask(child: ChildProcess): Promise<Sample> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as Sample));
    child.send('measure');
  });
}

async function measure(mode: (typeof MODES)[number][0]): Promise<{ rss: number; heap: number }> {
  const child = fork(serverPath, [mode], { execArgv: ['--expose-gc'] });
  const { port } = await new Promise<{ port: number }>((resolve) =>
    child.once('message', (message) => resolve(message as { port: number })),
  );
  const before = await ask(child);
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < CONNECTIONS; i++) {
      await new Promise<void>((resolve, reject) => {
        // Spread source addresses so the loopback never runs out of ephemeral ports.
        const socket = net.connect(
          { port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 200)}` },
          () => {
            socket.write(
              'GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n',
            );
            resolve();
          },
        );
        socket.once('error', reject);
        socket.on('data', () => {});
        sockets.push(socket);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await ask(child);
    if (after.open !== CONNECTIONS)
      throw new Error(`${mode}: ${after.open} of ${CONNECTIONS} open`);
    return {
      rss: (after.rss - before.rss) / CONNECTIONS,
      heap: (after.heap - before.heap) / CONNECTIONS,
    };
  } finally {
    for (const socket of sockets) socket.destroy();
    child.kill();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const MODES = [
  ['net', 'bare net.Socket (no HTTP)'],
  ['http', 'node:http, response open'],
  ['tidings', '@tidings/server EventStream on node:http'],
  ['http-detached', 'node:http, then parser, request and response dropped (the bound)'],
] as const;
const results: Record<string, { rss: number[]; heap: number[] }> = Object.fromEntries(
  MODES.map(([mode]) => [mode, { rss: [], heap: [] }]),
);
for (let run = 0; run < RUNS; run++) {
  for (const [mode] of MODES) {
    const sample = await measure(mode);
    results[mode]?.rss.push(sample.rss);
    results[mode]?.heap.push(sample.heap);
  }
}
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(
  `Idle connection floor on Node ${process.version}, ${CONNECTIONS} connections, median of ${RUNS}:`,
);
console.log('| holder | RSS per connection | JS heap per connection |');
console.log('| --- | ---: | ---: |');
for (const [mode, label] of MODES) {
  const r = results[mode];
  if (r) console.log(`| ${label} | ${kb(median(r.rss))} | ${kb(median(r.heap))} |`);
}
