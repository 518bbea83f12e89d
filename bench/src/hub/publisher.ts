/**
 * The publisher process of bench:hub: POSTs updates to the hub under test at a steady rate,
 * over keep-alive connections, each update stamped with the time it was due. A separate
 * process, so that neither the hub nor the load client pays for publishing.
 *
 * Started with the target as JSON in argv[2]; driven over IPC.
 */
import { Agent, request } from 'node:http';
import { createPayload, nowMicros } from '@tidings/hub/load';
import type { PublisherRequest, PublisherResult, PublishTarget } from './publish-target.js';

const target = JSON.parse(process.argv[2] ?? '{}') as PublishTarget;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
let seq = 0;

function body(data: string): string {
  if (target.format === 'raw') return data;
  return new URLSearchParams({ topic: target.topic, data }).toString();
}

/**
 * One publish; resolves with '' on success, else a short failure reason. A keep-alive
 * connection the server closed just as it was reused fails with ECONNRESET before the request
 * reached the hub; that one case is retried on a new connection, as Node's documentation of
 * `request.reusedSocket` advises.
 */
async function post(data: string): Promise<string> {
  const first = await postOnce(data);
  if (first !== 'retry') return first;
  const second = await postOnce(data);
  return second === 'retry' ? 'ECONNRESET' : second;
}

function postOnce(data: string): Promise<string> {
  const payload = body(data);
  return new Promise((resolve) => {
    const req = request(
      {
        host: target.host,
        port: target.port,
        path: target.path,
        method: 'POST',
        agent,
        headers: {
          ...target.headers,
          'content-type':
            target.format === 'raw' ? 'text/plain' : 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(
            res.statusCode !== undefined && res.statusCode < 300 ? '' : `HTTP ${res.statusCode}`,
          ),
        );
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (req.reusedSocket && error.code === 'ECONNRESET') resolve('retry');
      else resolve(error.code ?? error.message);
    });
    req.end(payload);
  });
}

async function publishAtRate(rate: number, durationMs: number): Promise<PublisherResult> {
  const total = Math.floor((rate * durationMs) / 1000);
  const intervalUs = 1_000_000 / rate;
  const start = nowMicros();
  const failures: Record<string, number> = {};
  const inFlight: Promise<void>[] = [];
  let published = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((nowMicros() - start) / intervalUs));
      while (published < due) {
        // Event n (from 0) comes due when n + 1 intervals have passed.
        const dueMicros = Math.round(start + (published + 1) * intervalUs);
        published++;
        inFlight.push(
          post(JSON.stringify(createPayload(++seq, dueMicros))).then((failure) => {
            if (failure !== '') {
              failed++;
              failures[failure] = (failures[failure] ?? 0) + 1;
            }
          }),
        );
      }
      if (published >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  return { published, failed, failures, elapsedMs: (nowMicros() - start) / 1000 };
}

async function handle(message: PublisherRequest): Promise<unknown> {
  switch (message.op) {
    case 'publish':
      return publishAtRate(message.rate, message.durationMs);
    case 'publish-marker': {
      const failure = await post(JSON.stringify({ marker: message.marker, seq: ++seq }));
      if (failure !== '') throw new Error(`marker publish failed: ${failure}`);
      return {};
    }
  }
}

process.on('message', (message: { id: number; request: PublisherRequest }) => {
  handle(message.request).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
