import { Worker, type Queue } from 'bullmq';
import { Counter, type Registry } from 'prom-client';
import type { JobContext } from '../../libs/jobs/queues.js';
import type { Logger } from '../../libs/logger/logger.js';
import { classifyOutage, OUTAGE_DEPENDENCIES, type OutageDependency } from './outage-classification.js';
import type { OutageCircuit } from './outage-circuit.js';

/** A job whose "outage" errors find every dependency healthy this often is failing on its own: its attempts decide. */
const FALSE_ALARMS_PER_JOB = 3;
const MAX_TRACKED_JOBS = 10_000;

/**
 * Wraps the archiver's handlers so an outage never costs a job an attempt. While the circuit is
 * open a job is handed back unrun; a job that fails with an outage error trips the circuit and is
 * handed back. Handing back is BullMQ's manual rate limit (`queue.rateLimit` + `RateLimitError`):
 * the job returns to `wait` with `attemptsMade` untouched and this worker takes nothing for
 * `holdMs`; so draining starts within about one probe interval plus `holdMs` of the dependency's
 * return.
 */
export function createOutageGuard(options: { circuit: OutageCircuit; queue: Queue; holdMs: number; registry: Registry; logger: Logger }) {
  const { circuit, queue, holdMs, logger } = options;
  const heldBack = new Counter({
    name: 'hikhub_archiver_jobs_held_back_total',
    help: 'Jobs handed back to the queue with no attempt spent because a dependency (postgres, pictures = DATA_DIR) was unavailable; a job counts each time',
    labelNames: ['dependency'] as const,
    registers: [options.registry],
  });
  for (const dependency of OUTAGE_DEPENDENCIES) heldBack.inc({ dependency }, 0);
  const falseAlarms = new Map<string, number>();

  const handBack = async (dependency: OutageDependency, pauseMs: number): Promise<never> => {
    heldBack.inc({ dependency });
    if (pauseMs > 0) {
      await queue.rateLimit(pauseMs).catch((error: unknown) => logger.warn({ err: error }, 'could not pause the worker; the held job is taken again at once'));
    }
    throw Worker.RateLimitError();
  };

  return function guard<P, R>(handler: (payload: P, context: JobContext) => Promise<R>): (payload: P, context: JobContext) => Promise<R> {
    return async (payload, context) => {
      const held = circuit.openDependency();
      if (held) return handBack(held, holdMs);
      try {
        return await handler(payload, context);
      } catch (error) {
        const dependency = classifyOutage(error);
        if (!dependency) throw error;
        if (await circuit.trip()) return handBack(circuit.openDependency() ?? dependency, holdMs);
        // Every dependency answers: a blip (a reset connection) costs no attempt either, but an error
        // that keeps coming back for this job alone is the job's own failure.
        const count = (falseAlarms.get(context.jobId) ?? 0) + 1;
        if (count > FALSE_ALARMS_PER_JOB) {
          falseAlarms.delete(context.jobId);
          throw error;
        }
        if (falseAlarms.size >= MAX_TRACKED_JOBS) falseAlarms.clear();
        falseAlarms.set(context.jobId, count);
        logger.warn({ eventId: context.jobId, dependency, err: error instanceof Error ? error.message : error }, 'outage error but every dependency answers; job handed back once more');
        return handBack(dependency, 0);
      }
    };
  };
}
