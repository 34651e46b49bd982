import type { Queue } from 'bullmq';
import type { Counter } from 'prom-client';
import type { JobPayload } from '../../libs/jobs/catalog.js';
import { addJobs, type JobContext } from '../../libs/jobs/queues.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { Logger } from '../../libs/logger/logger.js';
import type { RedisClient } from '../../libs/redis/connection.js';
import type { ArchiveOutcome } from './metrics.js';
import { classifyOutage } from './outage-classification.js';

export type SplitReason = 'failed' | 'stalled';

export interface BatchResult {
  outcomes: Partial<Record<ArchiveOutcome, number>>;
  /** Events handed on as single `event.archive` jobs. */
  splitOut: number;
  /** Events an earlier run of this batch finished (their body gone, e.g. a heartbeat, which leaves no row). */
  handledBefore: number;
}

/**
 * The handler of `event.archive-batch`: every event of the batch through the one per-event handler
 * (`archiveEvent`, whose writes concurrent events already share), all at once — the process-wide
 * event permits inside `archiveEvent` bound how many really run. Its fate:
 * - every event done → the batch completes with the count of each outcome;
 * - an event hit an outage (Postgres or DATA_DIR away) → that error is thrown, so the outage guard
 *   hands the whole batch back with no attempt spent; the events already done are found done on
 *   the re-run (body gone, row present → already_archived);
 * - some events failed on their own → they are split out, one `event.archive` job each (job id =
 *   event id), and the batch completes: from there on each lives as any single job does (attempts,
 *   backoff, failed set, crash quarantine), and the innocent events of its batch are not re-run;
 * - the batch stalled (an archiver died while running it) → it is not run again as a batch but
 *   split whole, so crash-quarantine.ts counts deaths per event and quarantines only the poison.
 * A body leaves Redis only once its event's work is durable, so when a batch runs again (handed
 * back, retried, stalled) an event whose body is gone was finished by an earlier run — a heartbeat
 * leaves no row to prove it — and is neither split out nor failed. On a batch's first run a
 * missing body is a real loss, and its split-out job fails loudly as a single job does.
 */
export function createBatchHandler(deps: {
  queue: Queue;
  redis: RedisClient;
  archiveEvent: (raw: RawEvent) => Promise<{ outcome: ArchiveOutcome }>;
  splitEvents: Counter<'reason'>;
  logger: Logger;
}) {
  const { queue, redis, archiveEvent, splitEvents, logger } = deps;

  /** Splits out the events, but on a batch's re-run only those whose body is still there; returns how many it split. */
  const splitOut = async (events: RawEvent[], reason: SplitReason, context: JobContext): Promise<number> => {
    let pending = events;
    if (!isFirstRun(context)) {
      // One round trip for the batch (its body keys share the prefix's hash tag, so one slot on a cluster too).
      const pipeline = redis.pipeline();
      for (const raw of events) pipeline.exists(raw.body.key);
      const exists = ((await pipeline.exec()) ?? []).map(([error, reply]) => {
        if (error) throw error;
        return reply;
      });
      pending = events.filter((_, index) => exists[index] === 1);
      const done = events.filter((_, index) => exists[index] !== 1);
      if (done.length > 0) logger.info({ jobId: context.jobId, eventIds: done.map((raw) => raw.id) }, 'batch run again: events whose body is gone were finished by an earlier run');
    }
    if (pending.length === 0) return 0;
    // Job id = event id: a split repeated after a crash adds nothing twice.
    await addJobs(queue, 'event.archive', pending.map((raw) => ({ payload: raw, jobId: raw.id })));
    splitEvents.inc({ reason }, pending.length);
    logger.warn({ jobId: context.jobId, events: pending.length, reason }, 'batch events split out into single jobs');
    return pending.length;
  };

  return async function archiveBatch(payload: JobPayload<'event.archive-batch'>, context: JobContext): Promise<BatchResult> {
    if (context.job.stalledCounter >= 1) {
      const split = await splitOut(payload.events, 'stalled', context);
      return { outcomes: {}, splitOut: split, handledBefore: payload.events.length - split };
    }
    const settled = await Promise.allSettled(payload.events.map((raw) => archiveEvent(raw)));
    const outcomes: BatchResult['outcomes'] = {};
    const failed: RawEvent[] = [];
    let outage: unknown;
    settled.forEach((result, index) => {
      if (result.status === 'fulfilled') outcomes[result.value.outcome] = (outcomes[result.value.outcome] ?? 0) + 1;
      else if (classifyOutage(result.reason)) outage ??= result.reason;
      else {
        failed.push(payload.events[index]!);
        logger.warn({ jobId: context.jobId, eventId: payload.events[index]!.id, err: errorMessage(result.reason) }, 'event of a batch failed; it goes on as a single job');
      }
    });
    if (outage !== undefined) throw outage;
    const split = failed.length > 0 ? await splitOut(failed, 'failed', context) : 0;
    return { outcomes, splitOut: split, handledBefore: failed.length - split };
  };
}

/** Taken for the first time: BullMQ counts every take (`attemptsStarted`), hand-backs and stalls included. */
function isFirstRun(context: JobContext): boolean {
  return context.job.attemptsStarted <= 1 && context.job.stalledCounter === 0;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
