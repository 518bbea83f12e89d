#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { AuthConfigError } from './auth/index.js';
import { BrokerConfigError, BrokerUnavailableError } from './broker/broker.js';
import { bench } from './cli/bench.js';
import {
  CommandFailure,
  EXIT_CODES_HELP,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
} from './cli/exit-codes.js';
import { type CliIo, processIo } from './cli/io.js';
import { listen } from './cli/listen.js';
import { nearestWord } from './cli/nearest-word.js';
import { UsageError } from './cli/options.js';
import { publish } from './cli/publish.js';
import { serve } from './cli/serve.js';
import { token } from './cli/token.js';

const COMMANDS: Record<string, (argv: readonly string[], io: CliIo) => Promise<number>> = {
  serve,
  token,
  publish,
  listen,
  bench,
};

const HELP = `Usage: tidings <command> [options]

A Mercure-compatible Server-Sent Events hub.

Commands:
  serve     Run the hub (tidings serve --dev for local development)
  token     Mint a JWT for publishing and subscribing
  publish   Publish an update and print its id
  listen    Subscribe and print events as they arrive
  bench     Load-test a hub (this one or any Mercure hub): latency, deliveries/s, losses

Run tidings <command> --help for its options. Every option can also come from a
TIDINGS_* environment variable; serve reads a JSON --config file too.

${EXIT_CODES_HELP}
`;

/** Runs the CLI; resolves with the exit code. Exported for tests that run it in-process. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === '--version' || command === '-v') {
    io.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    const nearest = nearestWord(command, Object.keys(COMMANDS));
    const hint = nearest === undefined ? '' : `; did you mean "tidings ${nearest}"?`;
    io.stderr.write(`tidings: unknown command "${command}"${hint}\n\n${HELP}`);
    return EXIT_USAGE;
  }
  try {
    return await run(rest, io);
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof BrokerConfigError ||
      error instanceof AuthConfigError ||
      // Hub.create names a bad option with a RangeError.
      error instanceof RangeError
    ) {
      io.stderr.write(
        `tidings ${command}: ${error.message}\nRun tidings ${command} --help for the options.\n`,
      );
      return EXIT_USAGE;
    }
    if (error instanceof CommandFailure) {
      io.stderr.write(`tidings ${command}: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    // The broker's backend is down at startup (e.g. Redis): the reason is the whole story.
    if (error instanceof BrokerUnavailableError) {
      io.stderr.write(`tidings ${command}: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    // Anything else is a bug: the stack helps whoever reports it.
    io.stderr.write(`tidings ${command}: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

// Run when executed (the `tidings` bin), not when imported.
if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(realPath(process.argv[1])).href
) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // A second Ctrl-C: out now, whatever is still closing.
      if (code === EXIT_INTERRUPTED) process.exit(code);
      // Let output drain and handles close by themselves; a stray keep-alive socket (from
      // fetch) must not hold the command open after its work is done.
      setTimeout(() => process.exit(code), 1000).unref();
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
