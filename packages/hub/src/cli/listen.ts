import { listen as listenTo } from '@tidings/client/listen';
import { readClientCommandLine } from './client-command.js';
import { HUB_URL_OPTION, hubUrl } from './hub-url.js';
import type { CliIo } from './io.js';
import { formatOptionsHelp, type OptionSpec, UsageError } from './options.js';

export const LISTEN_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'topic',
    short: 't',
    type: 'repeatable',
    placeholder: 'selector',
    description: 'Topic selector: a topic, a URI template, or * for everything',
  },
  {
    name: 'match',
    short: 'm',
    type: 'repeatable',
    placeholder: 'topic',
    description: 'Draft-08 exact matcher: a topic, or * for everything',
  },
  {
    name: 'match-urlpattern',
    type: 'repeatable',
    placeholder: 'pattern',
    description: 'Draft-08 URL pattern matcher, e.g. https://example.com/books/:id',
  },
  {
    name: 'last-event-id',
    type: 'string',
    placeholder: 'id',
    description: 'Resume after this id (earliest: everything the hub still has)',
  },
  HUB_URL_OPTION,
  {
    name: 'token',
    type: 'string',
    env: 'TIDINGS_TOKEN',
    placeholder: 'jwt',
    description:
      'Subscriber token (needed for private updates, or when the hub refuses anonymous subscribers)',
  },
  { name: 'json', type: 'boolean', description: 'One JSON object per event, for jq and scripts' },
  { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' },
];

export const LISTEN_HELP = `Usage: tidings listen (--topic <selector> | --match <topic> | --match-urlpattern <pattern>)... [options]

Subscribes and prints every event as it arrives, reconnecting (with Last-Event-ID)
when the connection drops. Ctrl-C stops.

Options:
${formatOptionsHelp(LISTEN_OPTIONS)}

Examples:
  tidings listen --topic 'https://example.com/books/{id}'
  tidings listen -t '*' --json | jq .data
  tidings listen --match-urlpattern 'https://example.com/books/:id'   (Mercure draft-08)
`;

/** `tidings listen`: prints a subscription until Ctrl-C (exit 0) or a final error (exit 1). */
export async function listen(argv: readonly string[], io: CliIo): Promise<number> {
  const commandLine = readClientCommandLine(
    { name: 'listen', options: LISTEN_OPTIONS, help: LISTEN_HELP },
    argv,
    io,
  );
  if (!commandLine) return 0;
  const { values } = commandLine;
  const topics = (values.topic as string[] | undefined) ?? [];
  const matches = (values.match as string[] | undefined) ?? [];
  const patterns = (values['match-urlpattern'] as string[] | undefined) ?? [];
  if (topics.length === 0 && matches.length === 0 && patterns.length === 0) {
    throw new UsageError(
      'give at least one --topic (or --topic "*"), or --match / --match-urlpattern',
    );
  }
  if (topics.length > 0 && matches.length + patterns.length > 0) {
    throw new UsageError(
      '--topic is draft-07 and --match/--match-urlpattern draft-08: a subscription speaks one draft',
    );
  }
  const url = hubUrl(values.hub as string | undefined);
  for (const topic of topics) url.searchParams.append('topic', topic);
  for (const match of matches) url.searchParams.append('match', match);
  for (const pattern of patterns) url.searchParams.append('match_urlpattern', pattern);
  const jwt = values.token as string | undefined;

  const controller = new AbortController();
  const stop = () => controller.abort();
  io.onSignal('SIGINT', stop);
  io.onSignal('SIGTERM', stop);
  try {
    await listenTo(url, {
      signal: controller.signal,
      headers: jwt === undefined ? undefined : { Authorization: `Bearer ${jwt}` },
      lastEventId: values['last-event-id'] as string | undefined,
      format: values.json === true ? 'json' : 'pretty',
      output: io.stdout,
    });
    return 0;
  } catch (error) {
    if (controller.signal.aborted) return 0;
    // The pretty output already told the person; JSON output carries events only.
    if (values.json === true) io.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}
