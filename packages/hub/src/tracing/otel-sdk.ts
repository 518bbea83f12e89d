/**
 * The OpenTelemetry SDK that `tidings serve` starts when the standard OTEL_* variables ask
 * for traces. The SDK packages are optional peer dependencies, imported only then: a hub
 * that exports nothing loads none of them (the hub's spans stay `@opentelemetry/api` no-ops).
 */
import { UsageError } from '../cli/options.js';

/** What the environment asks for: nothing, or which exporters the spans go to. */
export type TracingPlan =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly exporters: readonly ('otlp' | 'console')[] };

/** The packages the SDK comes in, as a user installs them beside `@tidings/hub`. */
export const SDK_PACKAGES = [
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-http',
] as const;

/** The lines of the SDK that support every Node the hub runs on (20.6 and later). */
const INSTALL_LINE =
  'npm install @opentelemetry/sdk-trace-node@^2 @opentelemetry/resources@^2 @opentelemetry/exporter-trace-otlp-http@^0.223';

/** The one OTLP encoding the exporter here speaks. */
const HTTP_JSON = 'http/json';

/**
 * Reads the OTEL_* variables the OpenTelemetry specification defines:
 * - `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: no SDK;
 * - `OTEL_TRACES_EXPORTER=otlp|console` (comma-separated): those exporters;
 * - unset, with `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: otlp;
 * - `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`: only `http/json` (the default here).
 *
 * @throws UsageError for an exporter or a protocol this hub cannot export with.
 */
export function tracingPlan(env: NodeJS.ProcessEnv): TracingPlan {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { enabled: false };
  const named = env.OTEL_TRACES_EXPORTER?.trim();
  let exporters: ('otlp' | 'console')[];
  if (named === undefined || named === '') {
    const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
    if (!endpoint) return { enabled: false };
    exporters = ['otlp'];
  } else {
    const names = named.split(',').map((name) => name.trim().toLowerCase());
    if (names.includes('none')) return { enabled: false };
    exporters = [];
    for (const name of names) {
      if (name !== 'otlp' && name !== 'console') {
        throw new UsageError(
          `OTEL_TRACES_EXPORTER=${named}: "${name}" is not an exporter tidings has; use otlp, console or none`,
        );
      }
      if (!exporters.includes(name)) exporters.push(name);
    }
  }
  if (exporters.includes('otlp')) {
    const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
      ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
      : 'OTEL_EXPORTER_OTLP_PROTOCOL';
    const protocol = env[variable]?.trim();
    if (protocol && protocol.toLowerCase() !== HTTP_JSON) {
      throw new UsageError(
        `${variable}=${protocol} is not supported: tidings exports OTLP as ${HTTP_JSON} (set ${variable}=${HTTP_JSON}; collectors take it on port 4318)`,
      );
    }
  }
  return { enabled: true, exporters };
}

/** A started SDK: flush and stop it when the hub has closed. */
export interface TracingSdk {
  shutdown(): Promise<void>;
}

/**
 * Starts the SDK the plan asks for and registers it as the global tracer provider (with the
 * W3C trace-context propagator), or does nothing for a disabled plan.
 *
 * @throws UsageError naming the npm command when the SDK packages are not installed.
 */
export async function startTracingSdk(
  plan: TracingPlan,
  service: { name: string; version: string },
): Promise<TracingSdk | undefined> {
  if (!plan.enabled) return undefined;
  const [node, resources, otlp] = await Promise.all([
    importSdk<typeof import('@opentelemetry/sdk-trace-node')>(SDK_PACKAGES[0]),
    importSdk<typeof import('@opentelemetry/resources')>(SDK_PACKAGES[1]),
    plan.exporters.includes('otlp')
      ? importSdk<typeof import('@opentelemetry/exporter-trace-otlp-http')>(SDK_PACKAGES[2])
      : undefined,
  ]);
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over these.
  const resource = resources
    .resourceFromAttributes({ 'service.name': service.name, 'service.version': service.version })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const spanProcessors = plan.exporters.map((name) =>
    name === 'otlp'
      ? // Endpoint, headers, timeout and OTEL_BSP_* limits come from the environment.
        new node.BatchSpanProcessor(new otlp!.OTLPTraceExporter())
      : new node.SimpleSpanProcessor(new node.ConsoleSpanExporter()),
  );
  const provider = new node.NodeTracerProvider({ resource, spanProcessors });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}

async function importSdk<Module>(specifier: string): Promise<Module> {
  try {
    return (await import(specifier)) as Module;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new UsageError(
      `OTEL_* asks for traces, which need the OpenTelemetry SDK beside the hub: ${INSTALL_LINE}`,
    );
  }
}
