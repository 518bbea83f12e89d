import type { Logger } from '../logger.js';

/** One thing a running hub can load again without dropping its streams. */
export interface ReloadStep {
  readonly name: string;
  run(): Promise<void>;
}

/**
 * What SIGHUP does to a running `tidings serve`, alone or as one of `--workers` (the primary
 * passes the signal on): every registered step, in order. A step that fails is logged and
 * the hub goes on with what it had, so a bad file on disk never takes a running hub down.
 */
export async function reloadOnHangup(steps: readonly ReloadStep[], logger: Logger): Promise<void> {
  if (steps.length === 0) {
    logger.info('SIGHUP: nothing to reload');
    return;
  }
  for (const step of steps) {
    try {
      await step.run();
      logger.info({ step: step.name }, 'SIGHUP: reloaded');
    } catch (error) {
      logger.error({ step: step.name, err: error }, 'SIGHUP: reload failed; keeping the old one');
    }
  }
}
