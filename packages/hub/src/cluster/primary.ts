import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from '../cli/exit-codes.js';
import type { CliIo } from '../cli/io.js';
import type { ListenAddress } from '../cli/listen-address.js';
import { UsageError } from '../cli/options.js';
import type { Logger } from '../logger.js';
import { type ClusterState, createClusterAdminServer, type WorkerStatus } from './cluster-admin.js';
import { type ForwardedSignal, isWorkerMessage, type PrimaryMessage } from './messages.js';
import { RestartBackoff } from './restart-backoff.js';

/** The `tidings` bin: each worker runs it again, with the same `serve` arguments. */
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
/** A worker's status reply is about now: one that takes longer counts as not ready. */
const STATUS_TIMEOUT_MS = 2500;
/** Past the hub's own shutdown timeout, how long a worker may take to exit before SIGKILL. */
const EXIT_GRACE_MS = 5000;

export interface PrimaryOptions {
  workers: number;
  /** `serve`'s arguments, passed to every worker. */
  argv: readonly string[];
  /** Variables every worker gets on top of the primary's (a generated dev secret). */
  env: NodeJS.ProcessEnv;
  io: CliIo;
  logger: Logger;
  shutdownTimeoutMs: number;
  adminListen: ListenAddress | undefined;
  /** Called once every worker listens: the port they share and the admin listener's. */
  listening(port: number, adminPort: number | undefined): void;
}

/** One of the N places a worker runs in; a crashed worker's replacement takes its place. */
interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  startedAt: number;
  listening: boolean;
  restartTimer: NodeJS.Timeout | undefined;
  readonly backoff: RestartBackoff;
  exitCode: number | null;
}

/**
 * `tidings serve --workers N`: the primary process. It forks N workers that each run the
 * whole hub (`serve`, see worker.ts) and share the listening port through node:cluster, and
 * it holds no stream itself: it starts a crashed worker again (with a growing delay), passes
 * SIGTERM/SIGINT (graceful shutdown) and SIGHUP (reload) on to every worker, and serves the
 * admin address with the workers' metrics added up. Resolves with the exit code.
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { io, logger } = options;
  cluster.setupPrimary({ exec: CLI, args: ['serve', ...options.argv] });
  const slots: Slot[] = Array.from({ length: options.workers }, (_, i) => ({
    index: i + 1,
    worker: undefined,
    startedAt: 0,
    listening: false,
    restartTimer: undefined,
    backoff: new RestartBackoff(),
    exitCode: null,
  }));
  let stopping = false;
  let started = false;
  let restarts = 0;
  let nextRequestId = 1;
  let onStartFailure: (code: number) => void = () => {};
  let onAllListening: (port: number) => void = () => {};
  let onAllExited: () => void = () => {};

  const send = (slot: Slot, message: PrimaryMessage) => {
    if (slot.worker?.isConnected()) slot.worker.send(message);
  };

  const fork = (slot: Slot) => {
    slot.restartTimer = undefined;
    slot.listening = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork(options.env);
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message) || message.type !== 'tidings:listening') return;
      slot.listening = true;
      logger.debug({ worker: slot.index, pid: worker.process.pid }, 'worker listening');
      if (!started && slots.every((s) => s.listening)) {
        started = true;
        onAllListening(message.port);
      }
    });
    worker.once('exit', (code, signal) => {
      if (slot.worker === worker) slot.worker = undefined;
      slot.listening = false;
      slot.exitCode = code;
      if (stopping) {
        if (slots.every((s) => s.worker === undefined)) onAllExited();
        return;
      }
      if (!started) {
        // A worker that cannot start (port in use, broker down) has said why on stderr;
        // the others would fail the same way, and retrying would hide it.
        onStartFailure(code ?? EXIT_FAILURE);
        return;
      }
      restarts++;
      const delay = slot.backoff.delayAfter(Date.now() - slot.startedAt);
      logger.warn(
        { worker: slot.index, pid: worker.process.pid, code, signal, restartInMs: delay },
        'worker exited; starting it again',
      );
      slot.restartTimer = setTimeout(() => fork(slot), delay);
    });
  };

  /** Stops every worker with `signal` and resolves once all have exited (SIGKILL past the grace). */
  const stopAll = (signal: ForwardedSignal): Promise<void> => {
    stopping = true;
    for (const slot of slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    const exited = new Promise<void>((resolve) => {
      onAllExited = resolve;
      if (slots.every((s) => s.worker === undefined)) resolve();
    });
    for (const slot of slots) send(slot, { type: 'tidings:signal', signal });
    const deadline = setTimeout(() => {
      for (const slot of slots) {
        if (slot.worker) {
          logger.warn({ worker: slot.index }, 'worker did not exit in time; killing it');
          slot.worker.process.kill('SIGKILL');
        }
      }
    }, options.shutdownTimeoutMs + EXIT_GRACE_MS);
    deadline.unref();
    return exited.finally(() => clearTimeout(deadline));
  };

  const status = (slot: Slot): Promise<WorkerStatus> => {
    const down: WorkerStatus = {
      slot: slot.index,
      up: false,
      ready: false,
      reason: 'not running (being restarted)',
      connections: 0,
      rssBytes: 0,
    };
    const worker = slot.worker;
    if (worker === undefined || !slot.listening || !worker.isConnected()) {
      return Promise.resolve(down);
    }
    const requestId = nextRequestId++;
    return new Promise((resolve) => {
      const onMessage = (message: unknown) => {
        if (
          !isWorkerMessage(message) ||
          message.type !== 'tidings:status' ||
          message.requestId !== requestId
        ) {
          return;
        }
        finish({
          slot: slot.index,
          up: true,
          ready: message.ready,
          reason: message.reason,
          connections: message.connections,
          rssBytes: message.rssBytes,
        });
      };
      const finish = (result: WorkerStatus) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(result);
      };
      const onExit = () => finish(down);
      const timer = setTimeout(
        () =>
          finish({ ...down, up: true, reason: `no answer within ${STATUS_TIMEOUT_MS / 1000} s` }),
        STATUS_TIMEOUT_MS,
      );
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      send(slot, { type: 'tidings:status-request', requestId });
    });
  };

  const state: ClusterState = {
    workers: options.workers,
    get restarts() {
      return restarts;
    },
    get closing() {
      return stopping;
    },
    statuses: () => Promise.all(slots.map(status)),
  };

  // Signals are handled from the start: one that arrives while the workers start stops them.
  let admin: Server | undefined;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let stopped: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stopped !== undefined) {
      // A second Ctrl-C: the workers and the primary stop now.
      for (const slot of slots) send(slot, { type: 'tidings:signal', signal: 'SIGINT' });
      resolveDone(EXIT_INTERRUPTED);
      return;
    }
    logger.info({ signal, workers: options.workers }, 'shutting down every worker');
    stopped = stopAll(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
    stopped.then(() => {
      admin?.close();
      admin?.closeAllConnections();
      const failed = slots.filter((slot) => slot.exitCode !== EXIT_OK);
      if (failed.length > 0) {
        logger.error(
          { workers: failed.map((slot) => ({ worker: slot.index, code: slot.exitCode })) },
          'some workers did not shut down cleanly',
        );
      }
      resolveDone(failed.length === 0 ? EXIT_OK : EXIT_FAILURE);
    });
  };
  io.onSignal('SIGTERM', stop);
  io.onSignal('SIGINT', stop);
  io.onSignal('SIGHUP', () => {
    logger.info({ workers: options.workers }, 'SIGHUP: passed on to every worker');
    for (const slot of slots) send(slot, { type: 'tidings:signal', signal: 'SIGHUP' });
  });

  // Start: every worker listening, or the first failure's exit code.
  type Outcome =
    | { kind: 'listening'; port: number }
    | { kind: 'failed'; code: number }
    | { kind: 'stopped'; code: number };
  const startup = new Promise<Outcome>((resolve) => {
    onAllListening = (port) => resolve({ kind: 'listening', port });
    onStartFailure = (code) => resolve({ kind: 'failed', code });
  });
  for (const slot of slots) fork(slot);
  const outcome = await Promise.race([
    startup,
    done.then((code): Outcome => ({ kind: 'stopped', code })),
  ]);
  if (outcome.kind === 'stopped') return outcome.code;
  if (outcome.kind === 'failed') {
    await stopAll('SIGTERM');
    return outcome.code === EXIT_OK ? EXIT_FAILURE : outcome.code;
  }
  const { port } = outcome;

  let adminPort: number | undefined;
  if (options.adminListen !== undefined) {
    admin = createClusterAdminServer(state, logger);
    try {
      adminPort = await listenOn(admin, options.adminListen);
    } catch (error) {
      await stopAll('SIGTERM');
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new UsageError(
          `admin port ${options.adminListen.port} is already in use: pick another with --admin-listen`,
        );
      }
      throw error;
    }
  }
  if (stopped === undefined) {
    options.listening(port, adminPort);
    logger.info({ workers: options.workers, port }, 'hub workers listening');
  }
  return done;
}

function listenOn(server: Server, address: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
