/**
 * One measurement of `bench:tracing`, in a process of its own (a tracer provider, once
 * registered, is global): prints `{ "nsPerPublish": N }` on stdout.
 *
 *   node bench/dist/tracing/measure.js <what> <publishes>
 *
 * what: `api-noop` (the @opentelemetry/api calls the hub makes per publish, with no provider),
 * `empty` (the same loop without them), `hub` / `hub-sdk` (Hub.publish in process, without /
 * with the SDK and an exporter that drops everything), `http` / `http-sdk` (publish requests
 * over HTTP/1.1 keep-alive, one at a time).
 */
import { Agent, request as httpRequest } from 'node:http';
import {
  context,
  INVALID_TRACEID,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { createLogger, Hub, mintToken } from '@tidings/hub';

const [what = 'hub', countText = '200000'] = process.argv.slice(2);
const count = Number(countText);
const SECRET = 'bench-secret-of-at-least-thirty-two-bytes!';

if (what.endsWith('-sdk')) {
  // Imported only here: the other measurements also run where the SDK is not installed
  // (against a build of the hub from before tracing, for instance).
  const { BatchSpanProcessor, NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  // What an exporter costs is the collector's business: this one drops every batch.
  const dropAll: SpanExporter = {
    export: (_spans, done) => done({ code: 0 }),
    shutdown: async () => {},
  };
  new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropAll)] }).register();
}

let nsPerPublish: number;
if (what === 'api-noop' || what === 'empty') nsPerPublish = apiLoop(what === 'api-noop');
else if (what.startsWith('hub')) nsPerPublish = await hubPublishes();
else nsPerPublish = await httpPublishes();
process.stdout.write(`${JSON.stringify({ nsPerPublish })}\n`);

/**
 * The calls `tracing/hub-tracing.ts` makes for one HTTP publish when no provider is
 * registered: extract, three spans started and ended, the checks that skip attributes.
 */
function apiLoop(withApi: boolean): number {
  const tracer = trace.getTracer('@tidings/hub');
  const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: 'x' };
  const pending = new Map<string, unknown>();
  let sink = 0;
  const run = (n: number) => {
    const began = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      sink += headers.authorization.length;
      if (!withApi) continue;
      const parent = propagation.extract(ROOT_CONTEXT, headers);
      const publish = tracer.startSpan('mercure publish', { kind: SpanKind.SERVER }, parent);
      const publishContext = hasContext(publish) ? trace.setSpan(parent, publish) : parent;
      const append = tracer.startSpan('broker append', { kind: SpanKind.PRODUCER }, publishContext);
      if (hasContext(append)) pending.set('id', publishContext);
      const fanOut = tracer.startSpan('fan-out', { kind: SpanKind.CONSUMER }, ROOT_CONTEXT);
      if (fanOut.isRecording()) sink++;
      fanOut.end();
      append.end();
      if (publish.isRecording()) sink++;
      publish.end();
    }
    return Number(process.hrtime.bigint() - began);
  };
  run(Math.min(count, 100_000)); // warm-up
  const ns = run(count);
  if (sink === -1) console.log(context.active());
  return ns / count;
}

/** As `hasContext` in hub-tracing.ts. */
function hasContext(span: Span): boolean {
  return span.spanContext().traceId !== INVALID_TRACEID;
}

async function startHub(): Promise<Hub> {
  return Hub.create({
    logger: createLogger({ level: 'silent' }),
    processMetrics: false,
    auth: {
      publisherKey: { kind: 'secret', secret: SECRET },
      subscriberKey: { kind: 'secret', secret: SECRET },
      anonymous: true,
      allowedOrigins: [],
    },
    transport: 'memory://?max_events=1000',
  });
}

async function hubPublishes(): Promise<number> {
  const hub = await startHub();
  const run = async (n: number) => {
    const began = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await hub.publish({ topics: ['bench'], data: 'x' });
    return Number(process.hrtime.bigint() - began);
  };
  await run(Math.min(count, 5_000));
  const ns = await run(count);
  await hub.close();
  return ns / count;
}

async function httpPublishes(): Promise<number> {
  const hub = await startHub();
  const { port } = await hub.listen(0, '127.0.0.1');
  const token = await mintToken({ secret: SECRET, publish: ['*'] });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = 'topic=bench&data=x';
  const publish = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        {
          agent,
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/.well-known/mercure',
          headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': 'application/x-www-form-urlencoded',
            'Content-Length': body.length,
          },
        },
        (response) => {
          if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
          response.resume().on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const run = async (n: number) => {
    const began = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await publish();
    return Number(process.hrtime.bigint() - began);
  };
  await run(Math.min(count, 500));
  const ns = await run(count);
  agent.destroy();
  await hub.close();
  return ns / count;
}
