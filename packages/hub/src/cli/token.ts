import { type GrantMatcher, mintAccessToken, mintToken } from '../auth/index.js';
import { checkSelectors } from './check-selectors.js';
import { readClientCommandLine } from './client-command.js';
import type { CliIo } from './io.js';
import { formatOptionsHelp, type OptionSpec, UsageError } from './options.js';

export const TOKEN_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'publish',
    type: 'repeatable',
    placeholder: 'selector',
    description: 'Topic selector the token may publish to (mercure.publish); * for all',
  },
  {
    name: 'subscribe',
    type: 'repeatable',
    placeholder: 'selector',
    description:
      'Topic selector whose private updates the token may receive (mercure.subscribe); * for all',
  },
  {
    name: 'payload',
    type: 'string',
    placeholder: 'json',
    description: 'mercure.payload: JSON shown to others in subscription events',
  },
  {
    name: 'expires',
    type: 'string',
    placeholder: 'duration',
    description: 'Lifetime, e.g. 15m, 1h, 7d (no exp claim when absent)',
  },
  {
    name: 'draft',
    type: 'string',
    placeholder: '07|08',
    description:
      'Token shape: 07 (a mercure claim, default) or 08 (an RFC 9068 access token with authorization_details)',
  },
  {
    name: 'issuer',
    type: 'string',
    placeholder: 'iss',
    description: "Draft-08: the iss claim (the hub's --jwt-issuer)",
  },
  {
    name: 'audience',
    type: 'string',
    placeholder: 'aud',
    description:
      "Draft-08: the aud claim, the hub's URL (e.g. https://hub.example.com/.well-known/mercure)",
  },
  {
    name: 'jwt-key',
    type: 'string',
    env: 'TIDINGS_JWT_KEY',
    placeholder: 'secret',
    description: 'The HMAC secret the hub verifies with (HS256)',
  },
  { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' },
];

export const TOKEN_HELP = `Usage: tidings token [--publish <selector>]... [--subscribe <selector>]... [options]

Prints a JWT (HS256) with a mercure claim, signed with the hub's secret.

Options:
${formatOptionsHelp(TOKEN_OPTIONS)}

With --draft 08, selectors are draft-08 matchers: a topic (exact), *, or a URL pattern
written urlpattern:<pattern> (e.g. urlpattern:https://example.com/books/:id).

Examples:
  tidings token --publish '*' --jwt-key "$SECRET"
  tidings token --draft 08 --issuer https://app.example --audience https://hub.example/.well-known/mercure --subscribe 'urlpattern:https://example.com/books/:id' --expires 15m
  tidings token --subscribe 'https://example.com/users/42/{?topic}' --expires 1h --payload '{"user":42}'
`;

/** `tidings token`: mints a token for the given selectors and prints it. */
export async function token(argv: readonly string[], io: CliIo): Promise<number> {
  const commandLine = readClientCommandLine(
    { name: 'token', options: TOKEN_OPTIONS, help: TOKEN_HELP },
    argv,
    io,
  );
  if (!commandLine) return 0;
  const { values } = commandLine;
  const publish = values.publish as string[] | undefined;
  const subscribe = values.subscribe as string[] | undefined;
  if (publish === undefined && subscribe === undefined) {
    throw new UsageError(
      'give at least one --publish or --subscribe selector (use * for everything)',
    );
  }
  checkSelectors(publish ?? [], '--publish', 'mercure.publish claim');
  checkSelectors(subscribe ?? [], '--subscribe', 'mercure.subscribe claim');
  const secret = values['jwt-key'] as string | undefined;
  if (secret === undefined)
    throw new UsageError('no secret: pass --jwt-key or set TIDINGS_JWT_KEY');
  if (secret.startsWith('@') || secret.startsWith('-----BEGIN') || /^https?:\/\//i.test(secret)) {
    throw new UsageError(
      'tidings token signs with an HMAC secret only; sign RS/ES tokens with your own private key',
    );
  }
  let payload: unknown;
  if (values.payload !== undefined) {
    try {
      payload = JSON.parse(values.payload as string);
    } catch (error) {
      throw new UsageError(`--payload is not valid JSON: ${(error as Error).message}`);
    }
  }
  const expires = values.expires as string | undefined;
  if (expires !== undefined && !/^\d+\s*(s|m|h|d|w|y)?$/i.test(expires)) {
    throw new UsageError(
      `--expires: "${expires}" is not a duration; write e.g. 90s, 15m, 1h or 7d`,
    );
  }
  const draft = (values.draft as string | undefined) ?? '07';
  if (draft !== '07' && draft !== '08')
    throw new UsageError(`--draft must be 07 or 08, got "${draft}"`);
  if (draft === '08') {
    const issuer = values.issuer as string | undefined;
    const audience = values.audience as string | undefined;
    if (issuer === undefined || audience === undefined) {
      throw new UsageError(
        '--draft 08 needs --issuer and --audience (RFC 9068 access tokens name both)',
      );
    }
    if (
      payload !== undefined &&
      (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    ) {
      throw new UsageError('--payload must be a JSON object for a draft-08 token');
    }
    const jwt = await mintAccessToken({
      secret,
      issuer,
      audience,
      publish: publish?.map(grantMatcher),
      subscribe: subscribe?.map(grantMatcher),
      payload: payload as Record<string, unknown> | undefined,
      // Access tokens must expire: an hour unless told otherwise.
      expiresIn: expires === undefined ? 3600 : /^\d+$/.test(expires) ? Number(expires) : expires,
    });
    io.stdout.write(`${jwt}\n`);
    return 0;
  }
  const jwt = await mintToken({
    secret,
    publish,
    subscribe,
    payload,
    // A bare number is seconds from now.
    expiresIn: expires !== undefined && /^\d+$/.test(expires) ? Number(expires) : expires,
  });
  io.stdout.write(`${jwt}\n`);
  return 0;
}

/** `urlpattern:<pattern>` is a URL pattern; anything else an exact topic (or `*`). */
function grantMatcher(selector: string): GrantMatcher {
  return selector.startsWith('urlpattern:')
    ? { match: selector.slice('urlpattern:'.length), match_type: 'urlpattern' }
    : selector;
}
