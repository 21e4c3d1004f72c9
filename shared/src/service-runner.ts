import type { Logger } from './logger.js';

/** Every long-lived part: the constructor only takes collaborators, start() begins work, stop() hands back. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts components in order and stops them in reverse on SIGTERM/SIGINT, so in-flight work is finished or
 * handed back before the process exits. A failure during start stops what already started and exits 1
 * (the container restarts); a second signal forces exit.
 */
export async function runService(opts: {
  name: string;
  log: Logger;
  components: Component[];
  stopTimeoutMs?: number;
}): Promise<void> {
  const { log, components } = opts;
  const started: Component[] = [];
  let stopping = false;

  const stopAll = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'stopping');
    const timer = setTimeout(() => {
      log.error('graceful stop timed out; exiting');
      process.exit(code || 1);
    }, opts.stopTimeoutMs ?? 20_000);
    timer.unref();
    for (const c of [...started].reverse()) {
      try {
        await c.stop();
        log.debug({ component: c.name }, 'stopped');
      } catch (err) {
        log.error({ err, component: c.name }, 'stop failed');
      }
    }
    log.info('stopped');
    log.flush?.();
    process.exit(code);
  };

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) {
        log.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(1);
      }
      void stopAll(sig, 0);
    });
  }
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    void stopAll('unhandledRejection', 1);
  });

  try {
    for (const c of components) {
      await c.start();
      started.push(c);
      log.debug({ component: c.name }, 'started');
    }
    log.info({ service: opts.name }, 'running');
  } catch (err) {
    log.fatal({ err }, 'start failed');
    await stopAll('start failed', 1);
  }
}
