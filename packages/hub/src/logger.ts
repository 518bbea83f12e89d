import { type LevelWithSilent, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** `pretty`: coloured lines for a person; `json`: one JSON object per line. Default: pretty in a terminal. */
  format?: 'json' | 'pretty';
  /** Where lines go; default stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * The hub's logger: JSON lines for log collectors, readable lines in a terminal. Pretty
 * printing runs in the same thread on purpose — it is for a person watching a terminal,
 * where a worker thread would only add startup time.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stdout;
  const isTTY = (destination as { isTTY?: boolean }).isTTY === true;
  const format = options.format ?? (isTTY ? 'pretty' : 'json');
  const level = options.level ?? 'info';
  if (format === 'pretty') {
    return pino(
      { level, base: undefined },
      pretty({
        // Colour for a terminal only, and never when NO_COLOR asks for none.
        colorize: isTTY && !process.env.NO_COLOR,
        destination,
        sync: true,
        ignore: 'pid,hostname',
        translateTime: 'HH:MM:ss.l',
      }),
    );
  }
  return pino({ level, base: { name: 'tidings' } }, destination);
}
