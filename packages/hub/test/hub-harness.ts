import {
  type AuthConfig,
  createLogger,
  Hub,
  type HubOptions,
  type ListenSecurity,
  mintToken,
} from '@tidings/hub';

/** The HMAC secret of test hubs (HS256 needs 32 bytes). */
export const SECRET = 'tidings-test-secret-of-32-bytes-or-more!';

export interface TestHub {
  hub: Hub;
  port: number;
  /** `http://127.0.0.1:<port>` (`https://` with TLS) */
  base: string;
  /** `http://127.0.0.1:<port>/.well-known/mercure` */
  hubUrl: string;
  /** A token for the test secret with these claims. */
  token(claims: {
    publish?: string[];
    subscribe?: string[];
    payload?: unknown;
    expiresIn?: string | number;
  }): Promise<string>;
  /** Publishes a form; resolves with the response. */
  publish(fields: Record<string, string | string[]>, token?: string): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A hub on a free port, quiet logs, anonymous subscribers on unless told otherwise; `listen`
 * serves TLS or h2c (then {@link TestHub.publish} needs a client that trusts the certificate).
 */
export async function startHub(
  options: Partial<Omit<HubOptions, 'auth'>> & {
    auth?: Partial<AuthConfig>;
    listen?: ListenSecurity;
  } = {},
): Promise<TestHub> {
  const { listen, ...hubOptions } = options;
  const hub = await Hub.create({
    logger: createLogger({ level: 'silent' }),
    processMetrics: false,
    ...hubOptions,
    auth: {
      publisherKey: { kind: 'secret', secret: SECRET },
      subscriberKey: { kind: 'secret', secret: SECRET },
      anonymous: true,
      allowedOrigins: [],
      ...options.auth,
    },
  });
  const { port } = await hub.listen(0, '127.0.0.1', listen);
  const base = `${listen !== undefined && 'tls' in listen ? 'https' : 'http'}://127.0.0.1:${port}`;
  const hubUrl = `${base}/.well-known/mercure`;
  const publisherToken = await mintToken({ secret: SECRET, publish: ['*'] });
  return {
    hub,
    port,
    base,
    hubUrl,
    token: (claims) => mintToken({ secret: SECRET, ...claims }),
    publish: (fields, token = publisherToken) => {
      const body = new URLSearchParams();
      for (const [name, value] of Object.entries(fields)) {
        for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
      }
      return fetch(hubUrl, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body,
      });
    },
    close: () => hub.close(),
  };
}

/** The subscribe URL for these topic selectors (and extra query parameters). */
export function subscribeUrl(
  hubUrl: string,
  topics: string[],
  extra: Record<string, string> = {},
): string {
  const url = new URL(hubUrl);
  for (const topic of topics) url.searchParams.append('topic', topic);
  for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
  return url.href;
}

/** The path and query of {@link subscribeUrl}, for raw requests. */
export function subscribePath(topics: string[], extra: Record<string, string> = {}): string {
  const url = new URL(subscribeUrl('http://x/.well-known/mercure', topics, extra));
  return url.pathname + url.search;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
