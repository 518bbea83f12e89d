import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { MemoryBroker, mintToken } from '@tidings/hub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import { runCli, runToEnd } from './cli-process.js';
import { SECRET, startHub, subscribePath, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;
const RECORD_IMPORTS = new URL('./fixtures/record-imports.mjs', import.meta.url).href;
const SDK_PACKAGES = [
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-http',
];

describe('hub spans with an OpenTelemetry SDK registered', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const broker = new MemoryBroker();
  let t: TestHub;

  beforeAll(async () => {
    // Registers the provider, the W3C trace-context propagator and an async context manager.
    provider.register();
    t = await startHub({ broker });
  });
  afterEach(() => exporter.reset());
  afterAll(async () => {
    await t.close();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  const named = (spans: ReadableSpan[], name: string) => {
    const found = spans.filter((span) => span.name === name);
    expect(found, `one "${name}" span in ${spans.map((s) => s.name)}`).toHaveLength(1);
    return found[0]!;
  };

  it('traces publish -> broker append -> fan-out with the update id, continuing the publisher trace', async () => {
    const subscriber = await RawSubscriber.open(t.port, subscribePath(['traced'])).opened();
    const response = await fetch(t.hubUrl, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await mintToken({ secret: SECRET, publish: ['*'] })}`,
        traceparent: TRACEPARENT,
      },
      body: new URLSearchParams([
        ['topic', 'traced'],
        ['topic', 'traced-alternate'],
        ['data', 'hello'],
      ]),
    });
    expect(response.status).toBe(200);
    const id = await response.text();
    await subscriber.eventCount(1);
    await subscriber.close();

    const spans = exporter.getFinishedSpans();
    const publish = named(spans, 'mercure publish');
    const append = named(spans, 'broker append');
    const fanOut = named(spans, 'fan-out');

    expect(publish.kind).toBe(SpanKind.SERVER);
    expect(append.kind).toBe(SpanKind.PRODUCER);
    expect(fanOut.kind).toBe(SpanKind.CONSUMER);
    // One trace, the publisher's: publish is the child of the incoming traceparent, the
    // append the child of publish, the fan-out the child of the append.
    for (const span of [publish, append, fanOut]) {
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.attributes['tidings.update.id']).toBe(id);
      expect(span.attributes['tidings.update.topics']).toBe(2);
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }
    expect(publish.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(publish.parentSpanContext?.isRemote).toBe(true);
    expect(append.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(fanOut.parentSpanContext?.spanId).toBe(append.spanContext().spanId);
    expect(publish.attributes['http.response.status_code']).toBe(200);
    expect(fanOut.attributes['tidings.fanout.delivered']).toBe(1);
  });

  it('starts a new trace without a traceparent, and an update nobody subscribes to delivers to 0', async () => {
    const response = await t.publish({ topic: 'nobody-here', data: 'x' });
    const id = await response.text();
    const spans = exporter.getFinishedSpans();
    const publish = named(spans, 'mercure publish');
    expect(publish.parentSpanContext).toBeUndefined();
    expect(publish.spanContext().traceId).not.toBe(TRACE_ID);
    const fanOut = named(spans, 'fan-out');
    expect(fanOut.spanContext().traceId).toBe(publish.spanContext().traceId);
    expect(fanOut.attributes['tidings.update.id']).toBe(id);
    expect(fanOut.attributes['tidings.fanout.delivered']).toBe(0);
  });

  it('puts Hub.publish under the span active around it', async () => {
    const app = trace.getTracer('test-app').startSpan('app work');
    const id = await context.with(trace.setSpan(context.active(), app), () =>
      t.hub.publish({ topics: ['from-app'], data: 'x' }),
    );
    app.end();
    const spans = exporter.getFinishedSpans();
    const append = named(spans, 'broker append');
    expect(append.parentSpanContext?.spanId).toBe(app.spanContext().spanId);
    expect(append.attributes['tidings.update.id']).toBe(id);
    expect(named(spans, 'fan-out').parentSpanContext?.spanId).toBe(append.spanContext().spanId);
  });

  it('records a refusal on the publish span without calling it an error, and nothing more', async () => {
    const token = await mintToken({ secret: SECRET, publish: ['only-this'] });
    const response = await t.publish({ topic: 'not-that', data: 'x' }, token);
    expect(response.status).toBe(403);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name)).toEqual(['mercure publish']);
    expect(spans[0]!.attributes['http.response.status_code']).toBe(403);
    expect(spans[0]!.status.code).toBe(SpanStatusCode.UNSET);
  });

  // Last in this block: the broker stays closed.
  it('marks the publish and the append as errors when the broker cannot take the update', async () => {
    await broker.close();
    const response = await t.publish({ topic: 'lost', data: 'x' });
    expect(response.status).toBe(503);
    const spans = exporter.getFinishedSpans();
    const publish = named(spans, 'mercure publish');
    const append = named(spans, 'broker append');
    expect(spans.some((span) => span.name === 'fan-out')).toBe(false);
    expect(publish.attributes['http.response.status_code']).toBe(503);
    expect(publish.status.code).toBe(SpanStatusCode.ERROR);
    expect(append.status.code).toBe(SpanStatusCode.ERROR);
    expect(append.events.map((event) => event.name)).toContain('exception');
  });
});

/** A collector that keeps every OTLP/JSON trace request it gets. */
async function startCollector(): Promise<{ server: Server; url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces' && request.headers['content-type'] === 'application/json')
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, bodies };
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
}

function otlpSpans(bodies: unknown[]): { service: string | undefined; span: OtlpSpan }[] {
  const found: { service: string | undefined; span: OtlpSpan }[] = [];
  for (const body of bodies as {
    resourceSpans: {
      resource: { attributes: OtlpSpan['attributes'] };
      scopeSpans: { spans: OtlpSpan[] }[];
    }[];
  }[]) {
    for (const resourceSpans of body.resourceSpans) {
      const service = resourceSpans.resource.attributes.find((a) => a.key === 'service.name')?.value
        .stringValue;
      for (const scope of resourceSpans.scopeSpans)
        for (const span of scope.spans) found.push({ service, span });
    }
  }
  return found;
}

describe('tidings serve and OTEL_* variables', () => {
  it('exports the spans of a publish over OTLP/JSON to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const collector = await startCollector();
    const serve = runCli(['serve', '--jwt-key', SECRET, '--port', '0', '--log-level', 'warn'], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
    });
    try {
      const [, port] = await serve.waitFor(/listening on http:\/\/localhost:(\d+)/);
      const response = await fetch(`http://127.0.0.1:${port}/.well-known/mercure`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${await mintToken({ secret: SECRET, publish: ['*'] })}`,
          traceparent: TRACEPARENT,
        },
        body: new URLSearchParams({ topic: 'exported', data: 'x' }),
      });
      expect(response.status).toBe(200);
      const id = await response.text();
      const names = () => otlpSpans(collector.bodies).map(({ span }) => span.name);
      await expect
        .poll(names, { timeout: 10_000 })
        .toEqual(expect.arrayContaining(['mercure publish', 'broker append', 'fan-out']));
      const spans = otlpSpans(collector.bodies);
      for (const { service, span } of spans) {
        expect(service).toBe('tidings-hub');
        expect(span.traceId).toBe(TRACE_ID);
        const idAttribute = span.attributes.find((a) => a.key === 'tidings.update.id');
        expect(idAttribute?.value.stringValue).toBe(id);
      }
      const publish = spans.find(({ span }) => span.name === 'mercure publish')!.span;
      expect(publish.parentSpanId).toBe(PARENT_SPAN_ID);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
      collector.server.close();
    }
  });

  it('never imports the SDK packages when no OTEL_* variable asks for traces', async () => {
    const record = join(await mkdtemp(join(tmpdir(), 'tidings-otel-')), 'imports.txt');
    const serve = runCli(['serve', '--jwt-key', SECRET, '--port', '0', '--log-level', 'warn'], {
      env: { NODE_OPTIONS: `--import=${RECORD_IMPORTS}`, TIDINGS_RECORD_IMPORTS: record },
    });
    try {
      const [, port] = await serve.waitFor(/listening on http:\/\/localhost:(\d+)/);
      const response = await fetch(`http://127.0.0.1:${port}/.well-known/mercure`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${await mintToken({ secret: SECRET, publish: ['*'] })}`,
        },
        body: new URLSearchParams({ topic: 'untraced', data: 'x' }),
      });
      expect(response.status).toBe(200);
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    }
    const imported = readFileSync(record, 'utf8').split('\n');
    // The recorder saw the hub's own imports, the API among them...
    expect(imported).toContain('@opentelemetry/api');
    expect(imported).toContain('@tidings/server');
    // ...and not one SDK package.
    for (const name of SDK_PACKAGES) expect(imported).not.toContain(name);
  });

  it('refuses an OTLP protocol it does not speak, and an unknown exporter, with exit code 2', async () => {
    for (const protocol of ['grpc', 'http/protobuf']) {
      const { code, stderr } = await runToEnd(['serve', '--dev', '--port', '0'], {
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        },
      });
      expect(code).toBe(2);
      // One line that says what to set, then the CLI's usual pointer to --help.
      expect(stderr.split('\n')[0]).toContain(
        `tidings serve: OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: tidings exports OTLP as http/json`,
      );
    }
    const zipkin = await runToEnd(['serve', '--dev', '--port', '0'], {
      env: { OTEL_TRACES_EXPORTER: 'zipkin' },
    });
    expect(zipkin.code).toBe(2);
    expect(zipkin.stderr).toContain('"zipkin" is not an exporter tidings has');
  });

  it('names the npm install command when the SDK packages are missing', async () => {
    const { code, stderr } = await runToEnd(['serve', '--dev', '--port', '0'], {
      env: {
        NODE_OPTIONS: `--import=${RECORD_IMPORTS}`,
        TIDINGS_HIDE_MODULES: SDK_PACKAGES.join(','),
        OTEL_TRACES_EXPORTER: 'console',
      },
    });
    expect(code).toBe(2);
    const [line] = stderr.split('\n');
    expect(line).toMatch(
      /^tidings serve: OTEL_\* asks for traces, which need the OpenTelemetry SDK/,
    );
    expect(line).toContain(
      'npm install @opentelemetry/sdk-trace-node@^2 @opentelemetry/resources@^2 @opentelemetry/exporter-trace-otlp-http@^0.223',
    );
  });
});

describe.skipIf(!redisServerBinary)('tidings serve --workers on Redis with OTEL_*', () => {
  it('has every worker export its own spans, and the fan-out on the other worker continue the publisher’s trace through Redis', async () => {
    const redis = await RedisServer.start();
    const collector = await startCollector();
    const serve = runCli(
      [
        'serve',
        '--jwt-key',
        SECRET,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--log-level',
        'warn',
        '--transport',
        redis.url('?key=traced-workers&timeout=500ms'),
        '--workers',
        '2',
      ],
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '50' } },
    );
    try {
      const [, port] = await serve.waitFor(/listening on http:\/\/[^:]+:(\d+)/, 'stderr', 30_000);
      const response = await fetch(`http://127.0.0.1:${port}/.well-known/mercure`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${await mintToken({ secret: SECRET, publish: ['*'] })}`,
          traceparent: TRACEPARENT,
        },
        body: new URLSearchParams({ topic: 'across-workers', data: 'x' }),
      });
      expect(response.status).toBe(200);
      const id = await response.text();
      const fanOuts = () =>
        otlpSpans(collector.bodies)
          .map(({ span }) => span)
          .filter(
            (span) =>
              span.name === 'fan-out' &&
              span.attributes.some(
                (a) => a.key === 'tidings.update.id' && a.value.stringValue === id,
              ),
          );
      await expect.poll(() => fanOuts().length, { timeout: 15_000 }).toBe(2);
      const append = otlpSpans(collector.bodies).find(({ span }) => span.name === 'broker append')!;
      expect(append.span.traceId).toBe(TRACE_ID);
      // Both fan-outs are children of the append: on the worker that appended it from the
      // context kept in memory, on the other from the trace context kept with the update in
      // Redis. Two distinct spans, one trace.
      const spans = fanOuts();
      expect(spans.map((span) => span.traceId)).toEqual([TRACE_ID, TRACE_ID]);
      expect(spans.map((span) => span.parentSpanId)).toEqual([
        append.span.spanId,
        append.span.spanId,
      ]);
      expect(new Set(spans.map((span) => span.spanId)).size).toBe(2);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
      collector.server.close();
      await redis.stop();
    }
  }, 60_000);
});
