import { type ConnectOptions, connect, type StreamEvent } from './connect.js';

/** Where `listen` writes: `process.stdout`, a file stream, or anything with `write`. */
export interface ListenOutput {
  write(text: string): unknown;
  /** A terminal gets colour (unless `NO_COLOR` is set). */
  isTTY?: boolean;
}

export interface ListenOptions
  extends Omit<ConnectOptions<Record<string, string>>, 'onevent' | 'parse'> {
  /** Default `process.stdout` in Node. Required where there is no `process`. */
  output?: ListenOutput;
  /** Force colour on or off. Default: on for a TTY, unless the `NO_COLOR` variable is set. */
  color?: boolean;
  /**
   * `'pretty'` (default): a header line per event (time, type, id), then the data indented.
   * `'json'`: one JSON object per line (`{"type","data","lastEventId"}`), for `jq` and scripts;
   * connection notes are left out so the output stays parseable.
   */
  format?: 'pretty' | 'json';
}

// The few Node facts listen needs, read through globalThis: this module still loads (and
// works, given an `output`) where there is no `process`.
interface NodeLikeProcess {
  stdout?: ListenOutput;
  env?: Record<string, string | undefined>;
}

const ESC = '\u001b[';
const STYLES = {
  dim: [`${ESC}2m`, `${ESC}22m`],
  bold: [`${ESC}1m`, `${ESC}22m`],
  cyan: [`${ESC}36m`, `${ESC}39m`],
  magenta: [`${ESC}35m`, `${ESC}39m`],
  yellow: [`${ESC}33m`, `${ESC}39m`],
  red: [`${ESC}31m`, `${ESC}39m`],
  green: [`${ESC}32m`, `${ESC}39m`],
} as const;
type Style = keyof typeof STYLES;

/**
 * Prints an event stream readably until it ends, the `signal` aborts, or it fails (then the
 * promise rejects with the error, after printing it). Reconnects like {@link connect}.
 * The `tidings listen` command is built on it.
 *
 * @example
 * await listen('http://localhost:3000/events', { signal: AbortSignal.timeout(60_000) });
 * // 12:00:01.234 ping #41
 * //   {"time":"2025-01-01T12:00:01Z"}
 */
export async function listen(url: string | URL, options: ListenOptions = {}): Promise<void> {
  const nodeProcess = (globalThis as { process?: NodeLikeProcess }).process;
  const { output: givenOutput, color: givenColor, format = 'pretty', ...connectOptions } = options;
  if (format !== 'pretty' && format !== 'json') {
    throw new TypeError(
      `listen(): format must be 'pretty' or 'json', got ${JSON.stringify(format)}`,
    );
  }
  const output = givenOutput ?? nodeProcess?.stdout;
  if (output === undefined) {
    throw new TypeError('listen(): there is no process.stdout here; pass options.output');
  }
  const noColor = nodeProcess?.env?.NO_COLOR;
  const color = givenColor ?? (output.isTTY === true && (noColor === undefined || noColor === ''));
  const paint = (style: Style, text: string): string =>
    color ? STYLES[style][0] + text + STYLES[style][1] : text;
  const note = (text: string): void => {
    if (format === 'pretty') output.write(`${paint('dim', timestamp())} ${text}\n`);
  };

  const connection = connect(url, {
    ...connectOptions,
    async onopen(response) {
      note(
        paint('green', `connected to ${response.url || String(url)}`) +
          paint('dim', ` (${response.status} ${response.headers.get('content-type') ?? ''})`),
      );
      await connectOptions.onopen?.(response);
    },
    onerror(error, info) {
      note(
        paint(info.willReconnect ? 'yellow' : 'red', error.message) +
          (info.willReconnect ? paint('dim', `; reconnecting in ${seconds(info.delay ?? 0)}`) : ''),
      );
      connectOptions.onerror?.(error, info);
    },
  });
  for await (const event of connection) {
    output.write(format === 'json' ? `${JSON.stringify(event)}\n` : formatEvent(event, paint));
  }
  note(paint('dim', 'stream ended'));
}

function formatEvent(event: StreamEvent, paint: (style: Style, text: string) => string): string {
  const type = paint(event.type === 'message' ? 'cyan' : 'magenta', paint('bold', event.type));
  const id = event.lastEventId === '' ? '' : ` ${paint('dim', `#${event.lastEventId}`)}`;
  const data = event.data === '' ? paint('dim', '(empty)') : event.data.replaceAll('\n', '\n  ');
  return `${paint('dim', timestamp())} ${type}${id}\n  ${data}\n`;
}

function timestamp(): string {
  const now = new Date();
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`;
}

function seconds(milliseconds: number): string {
  return milliseconds < 1000 ? `${milliseconds} ms` : `${(milliseconds / 1000).toFixed(1)} s`;
}
