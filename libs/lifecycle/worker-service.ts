import type { Job, Worker, WorkerOptions } from 'bullmq';
import type { Counter } from 'prom-client';
import { createContractWorker, type HandlerMap } from '../jobs/queues.js';
import type { Logger } from '../logger/logger.js';
import type { ServiceScope } from './service-scope.js';

/** No attempt left, or a failure no retry can fix: the job is parked in `failed`. */
function isFinalFailure(job: Job, error: Error): boolean {
  return job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
}

type WorkerConnection = Parameters<typeof createContractWorker>[2]['connection'];

/**
 * A service's contract worker (libs/jobs/queues.ts) with what every worker service does around
 * it: worker errors, failed attempts (retry or final, `<jobKind> failed for good`) and stalls are
 * logged and counted the same way; readiness needs the worker running; stop lets active jobs
 * finish (`worker.close()`), then closes the worker's own Redis connection.
 */
export function startServiceWorker(
  scope: ServiceScope,
  options: {
    queue: string;
    handlers: HandlerMap;
    worker: Omit<WorkerOptions, 'settings' | 'connection'> & { connection: WorkerConnection };
    logger: Logger;
    /** How logs name a job: "archive" → "archive attempt failed, will retry" / "archive failed for good". */
    jobKind: string;
    /** Level of a failed attempt that will be retried (retries are routine for some queues). */
    retryLogLevel?: 'info' | 'warn';
    /** Counts failed attempts by final="true"|"false". */
    failures?: Counter<'final'>;
    onFailed?: (job: Job, error: Error, final: boolean) => void;
  },
): Worker {
  const { logger, jobKind, failures, onFailed } = options;
  const worker = createContractWorker(options.queue, options.handlers, options.worker);
  worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = isFinalFailure(job, error);
    failures?.inc({ final: String(final) });
    logger[final ? 'error' : (options.retryLogLevel ?? 'warn')](
      { jobId: job.id, job: job.name, attempt: job.attemptsMade, err: error.message },
      final ? `${jobKind} failed for good` : `${jobKind} attempt failed, will retry`,
    );
    onFailed?.(job, error, final);
  });
  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'job stalled (its worker died or froze); it will run again'));
  scope.readyWhen(() => worker.isRunning());
  scope.onStop('worker', async () => {
    // Active jobs finish; a job cut short by the shutdown deadline goes back to the queue as stalled.
    await worker.close();
    const connection = options.worker.connection;
    await connection.quit().catch(() => connection.disconnect());
  });
  return worker;
}
