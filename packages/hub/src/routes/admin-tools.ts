import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimiter } from '../admin/rate-limiter.js';
import { explainSelector, type SelectorKind } from '../admin/selector-explanation.js';
import { reportToken } from '../admin/token-report.js';
import { AuthConfigError } from '../auth/auth-error.js';
import { mintToken } from '../auth/mint-token.js';
import { clientAddress } from '../http/client-address.js';
import { HttpError } from '../http/http-error.js';
import { hubUrlOf, requestHost } from '../http/hub-url.js';
import { readBody } from '../http/read-body.js';
import { sendJson } from '../http/respond.js';
import type { HubContext } from '../hub-context.js';

export const TOKEN_REPORT_PATH = '/admin/token';
export const TOKEN_MINT_PATH = '/admin/token/mint';
export const SELECTOR_TEST_PATH = '/admin/selector';
export const ADMIN_TOOL_PATHS: ReadonlySet<string> = new Set([
  TOKEN_REPORT_PATH,
  TOKEN_MINT_PATH,
  SELECTOR_TEST_PATH,
]);

/** A token, a selector and a topic fit well within this; anything larger is not a question. */
export const ADMIN_TOOL_MAX_BODY = 16 * 1024;
const SELECTOR_KINDS: readonly SelectorKind[] = ['selector', 'exact', 'urlpattern'];

/**
 * The dashboard's helpers, as JSON `POST`s on the admin listener: decode a token and say why
 * the hub would refuse it, test a selector against a topic with the hub's own matcher, and (in
 * development, with the generated secret) mint a token. They spend CPU on signatures and
 * compile whatever selector they are sent, so each address gets 60 a minute; and they take
 * requests from the dashboard's own origin only, so another site open in an operator's browser
 * cannot use them.
 */
export class AdminTools {
  readonly #context: HubContext;
  readonly #limiter = new RateLimiter({ limit: 60, windowMs: 60_000 });

  constructor(context: HubContext) {
    this.#context = context;
  }

  async answer(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    if (request.method !== 'POST') {
      throw new HttpError(405, `method ${request.method} not allowed here; use POST`, {
        Allow: 'POST',
      });
    }
    const options = this.#context.options;
    if (path === TOKEN_MINT_PATH && options.devSecret === undefined) {
      throw new HttpError(
        404,
        'minting is for development only: start the hub with --dev (it signs with the generated secret)',
      );
    }
    assertSameOrigin(request);
    const wait = this.#limiter.take(clientAddress(request, options.trustProxy));
    if (wait > 0) {
      throw new HttpError(
        429,
        `too many admin tool requests: at most 60 a minute; wait ${wait} s`,
        {
          'Retry-After': String(wait),
        },
      );
    }
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new HttpError(415, 'send the question as JSON (Content-Type: application/json)');
    }
    const body = await readBody(request, ADMIN_TOOL_MAX_BODY, options.bodyTimeoutMs);
    const fields = parseObject(body);
    const hubUrl = hubUrlOf(request, options);
    switch (path) {
      case TOKEN_REPORT_PATH: {
        const token = requireString(fields, 'token');
        sendJson(response, 200, await reportToken(token, this.#context.auth, hubUrl));
        return;
      }
      case SELECTOR_TEST_PATH: {
        const selector = requireString(fields, 'selector');
        const topic = requireString(fields, 'topic');
        const kind = fields.kind ?? 'selector';
        if (!SELECTOR_KINDS.includes(kind as SelectorKind)) {
          throw new HttpError(400, `kind must be one of ${SELECTOR_KINDS.join(', ')}`);
        }
        sendJson(response, 200, explainSelector(selector, topic, kind as SelectorKind, hubUrl));
        return;
      }
      default: {
        const token = await mintToken({
          secret: options.devSecret!,
          publish: optionalSelectors(fields, 'publish'),
          subscribe: optionalSelectors(fields, 'subscribe'),
          expiresIn: optionalExpiry(fields),
        }).catch((error: unknown) => {
          if (error instanceof AuthConfigError) throw new HttpError(400, error.message);
          throw error;
        });
        sendJson(response, 200, { token });
      }
    }
  }
}

/**
 * A browser names the page's origin in `Origin` (and `Sec-Fetch-Site`) on every `POST`; a
 * request from another site's page is refused. Without either header it is not a browser
 * page's request (curl, a script), which cross-site request forgery cannot produce.
 */
function assertSameOrigin(request: IncomingMessage): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new HttpError(
      403,
      `the admin tools answer the dashboard's own page only (Sec-Fetch-Site: ${site})`,
    );
  }
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== requestHost(request)) {
    throw new HttpError(
      403,
      `the admin tools answer the dashboard's own page only, not one from ${JSON.stringify(origin).slice(0, 100)}`,
    );
  }
}

function parseObject(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function requireString(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (typeof value !== 'string' || value === '') {
    throw new HttpError(400, `"${name}" must be a non-empty string`);
  }
  return value;
}

function optionalSelectors(fields: Record<string, unknown>, name: string): string[] | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new HttpError(400, `"${name}" must be an array of topic selectors`);
  }
  return value as string[];
}

function optionalExpiry(fields: Record<string, unknown>): number | undefined {
  const value = fields.expiresInSeconds;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 31_536_000) {
    throw new HttpError(400, '"expiresInSeconds" must be a whole number of seconds, 1 to 31536000');
  }
  return value;
}
