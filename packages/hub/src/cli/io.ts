/** The process parts a command uses, passed in so tests can run commands in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  onSignal(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): void;
}

/** The real process. */
export const processIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  onSignal: (signal, listener) => {
    process.on(signal, listener);
  },
};
