import { mintToken } from '../auth/index.js';
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

Examples:
  tidings token --publish '*' --jwt-key "$SECRET"
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
