/**
 * What the `tidings` command's exit code means, so scripts and service managers can tell a
 * mistake in how it was called (fix the command line or the config, retrying will not help)
 * from a failure while running (a port in use, a hub that refused an update, a network error).
 */
export const EXIT_OK = 0;
/** Something failed while the command ran; the message says what. */
export const EXIT_FAILURE = 1;
/** The command line, the environment or the config file is wrong; nothing was started. */
export const EXIT_USAGE = 2;
/** Stopped by a second Ctrl-C (128 + SIGINT), without waiting for a graceful end. */
export const EXIT_INTERRUPTED = 130;

/**
 * A failure while running, reported as one line (no stack: it is not a bug) with exit code
 * {@link EXIT_FAILURE}. Usage mistakes are `UsageError`s instead.
 */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

/** The exit codes as `--help` lists them. */
export const EXIT_CODES_HELP = `Exit codes:
  0    done (serve: stopped by SIGTERM or Ctrl-C after a graceful shutdown)
  1    failed while running: port in use, hub unreachable or refusing, shutdown failed
  2    usage mistake: unknown command or option, a value out of range, a bad config file
  130  stopped by a second Ctrl-C without waiting`;
