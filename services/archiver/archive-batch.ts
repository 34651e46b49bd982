import type { Queue } from 'bullmq';
import type { Counter } from 'prom-client';
import type { JobPayload } from '../../libs/jobs/catalog.js';
import { addJobs, type JobContext } from '../../libs/jobs/queues.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { Logger } from '../../libs/logger/logger.js';
import type { ArchiveOutcome } from './metrics.js';
import { classifyOutage } from './outage-classification.js';

export type SplitReason = 'failed' | 'stalled';

export interface BatchResult {
  outcomes: Partial<Record<ArchiveOutcome, number>>;
  /** Events handed on as single `event.archive` jobs. */
  splitOut: number;
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
 */
export function createBatchHandler(deps: {
  queue: Queue;
  archiveEvent: (raw: RawEvent) => Promise<{ outcome: ArchiveOutcome }>;
  splitEvents: Counter<'reason'>;
  logger: Logger;
}) {
  const { queue, archiveEvent, splitEvents, logger } = deps;

  const splitOut = async (events: RawEvent[], reason: SplitReason, context: JobContext): Promise<void> => {
    // Job id = event id: a split repeated after a crash adds nothing twice.
    await addJobs(queue, 'event.archive', events.map((raw) => ({ payload: raw, jobId: raw.id })));
    splitEvents.inc({ reason }, events.length);
    logger.warn({ jobId: context.jobId, events: events.length, reason }, 'batch events split out into single jobs');
  };

  return async function archiveBatch(payload: JobPayload<'event.archive-batch'>, context: JobContext): Promise<BatchResult> {
    if (context.job.stalledCounter >= 1) {
      await splitOut(payload.events, 'stalled', context);
      return { outcomes: {}, splitOut: payload.events.length };
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
    if (failed.length > 0) await splitOut(failed, 'failed', context);
    return { outcomes, splitOut: failed.length };
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
