import type { CliIo } from './io.js';
import {
  type OptionSpec,
  type OptionValues,
  parseFlags,
  readEnvironment,
  UsageError,
} from './options.js';

/** How one of the hub's client commands (`listen`, `publish`, `token`) reads its arguments. */
export interface ClientCommand {
  /** The word after `tidings`, named in errors. */
  readonly name: string;
  readonly options: readonly OptionSpec[];
  readonly help: string;
  /** Whether positional arguments are allowed; the command checks them itself. */
  readonly takesArguments?: boolean;
}

export interface ClientCommandLine {
  /** Flags, over the environment variables of the options not given as flags. */
  readonly values: OptionValues;
  readonly positionals: readonly string[];
}

/**
 * Reads a client command's argv and environment. With `--help` it prints the help and returns
 * undefined: the command then exits 0 without doing anything else.
 *
 * @throws UsageError for an unknown flag, a missing value, or arguments the command does not take.
 */
export function readClientCommandLine(
  command: ClientCommand,
  argv: readonly string[],
  io: CliIo,
): ClientCommandLine | undefined {
  const flags = parseFlags(argv, command.options);
  if (flags.values.help) {
    io.stdout.write(command.help);
    return undefined;
  }
  if (!command.takesArguments && flags.positionals.length > 0) {
    throw new UsageError(
      `${command.name} takes no arguments, got "${flags.positionals.join(' ')}"`,
    );
  }
  return {
    values: { ...readEnvironment(command.options, io.env), ...flags.values },
    positionals: flags.positionals,
  };
}
