import type { z } from 'zod';
import { ConfigError, loadEnv, type CommonEnv } from '../config/env.js';
import { createLogger, type Logger } from '../logger/logger.js';
import { ShutdownManager } from './shutdown.js';

export interface RunningService {
  name: string;
  /** Readiness goes 503; in-flight work continues. */
  drain(): void;
  /** Stop accepting work, finish or hand back what is in flight, release connections. */
  stop(): Promise<void>;
}

/** Validate the environment or print every problem and exit — before anything else starts. */
export function loadEnvOrExit<S extends z.ZodType>(schema: S): z.infer<S> {
  try {
    return loadEnv(schema);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/**
 * Start services in order and stop them in reverse on SIGTERM/SIGINT: all readiness probes go
 * 503 first, then (after the drain delay) each service stops. A failure to start is fatal.
 */
export async function runServices(
  processName: string,
  env: Pick<CommonEnv, 'LOG_LEVEL' | 'SHUTDOWN_TIMEOUT_MS' | 'SHUTDOWN_DRAIN_DELAY_MS'>,
  starters: ((logger: Logger) => Promise<RunningService>)[],
): Promise<void> {
  const logger = createLogger(processName, env.LOG_LEVEL);
  const shutdown = new ShutdownManager(logger, env.SHUTDOWN_TIMEOUT_MS);
  const running: RunningService[] = [];
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  // Past a synchronous throw nobody caught, the process state is unknown: say so in the JSON log,
  // then exit for the supervisor (compose, Kubernetes) to restart it; queued work is not lost.
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(70);
  });

  shutdown.register('drain', async () => {
    for (const service of running) service.drain();
    if (env.SHUTDOWN_DRAIN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, env.SHUTDOWN_DRAIN_DELAY_MS));
  });
  shutdown.register('stop services', async () => {
    for (const service of [...running].reverse()) {
      await service.stop();
      logger.info({ service: service.name }, 'service stopped');
    }
  });
  shutdown.listen();

  try {
    for (const start of starters) running.push(await start(logger));
    logger.info({ services: running.map((s) => s.name) }, 'started');
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    await shutdown.shutdown().catch(() => {});
    process.exit(1);
  }
}
