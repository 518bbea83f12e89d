import { type ChildProcess, fork } from 'node:child_process';

/** Every child a benchmark started, so that none outlives the run however it ends. */
const children = new Set<ChildProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const killAll = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** Registers a child process (forked or spawned) to be killed when the runner exits. */
export function track(child: ChildProcess): ChildProcess {
  hookExit();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * A forked Node process answering requests over IPC: `{ id, request }` out,
 * `{ id, ok, result | error }` back. The load processes and the benchmarked servers both
 * speak it.
 */
export class RpcChild<Request> {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private readonly exited: Promise<number | null>;
  readonly child: ChildProcess;

  constructor(modulePath: string, args: string[] = [], execArgv: string[] = []) {
    this.child = track(
      fork(modulePath, args, {
        execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    this.child.on(
      'message',
      (message: { id: number; ok: boolean; result?: unknown; error?: string; event?: unknown }) => {
        const waiter = this.pending.get(message.id);
        if (waiter === undefined) return;
        this.pending.delete(message.id);
        if (message.ok) waiter.resolve(message.result);
        else waiter.reject(new Error(message.error));
      },
    );
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        for (const waiter of this.pending.values()) {
          waiter.reject(new Error(`${modulePath} exited (code ${code}) before answering`));
        }
        this.pending.clear();
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  request<Result>(request: Request): Promise<Result> {
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }

  /** Waits for the process to exit; kills it if it has not within `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    if (this.child.connected) this.child.disconnect();
    await this.exited;
    clearTimeout(timer);
  }
}
