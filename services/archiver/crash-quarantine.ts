import type { Db } from '../../libs/db/database.js';
import { BodyMissingError, readBody } from '../../libs/jobs/body-store.js';
import type { JobContext } from '../../libs/jobs/queues.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { Logger } from '../../libs/logger/logger.js';
import type { RedisClient } from '../../libs/redis/connection.js';
import type { ArchiveOutcome, ArchiverMetrics } from './metrics.js';
import type { BodyCleanup } from './body-cleanup.js';
import type { Quarantine } from './quarantine.js';

/** The quarantine reason code of a payload the archiver died on, again and again. */
export const CRASHES_ARCHIVER = 'crashes_archiver';

/**
 * BullMQ would fail a job that stalled more than `maxStalledCount` times; the archiver runs with
 * no such limit (an acknowledged event never ends in `failed` because archivers were killed), so
 * a true poison — a payload that kills the process every time it runs — is caught here instead:
 * once a job has stalled `maxStalls` times it is not run again but quarantined with its bytes,
 * reason code `crashes_archiver`, for a re-run after a fix. A replica killed for other reasons
 * (OOM, node loss, deploys) rarely catches the same job that often: it takes milliseconds.
 */
export function createCrashQuarantine(deps: {
  db: Db;
  redis: RedisClient;
  quarantine: Quarantine;
  bodies: BodyCleanup;
  maxStalls: number;
  metrics: ArchiverMetrics;
  logger: Logger;
}) {
  const { redis, maxStalls, metrics, logger } = deps;
  const reasonFor = (stalls: number) => `the archiver stopped (crashed or was killed) ${stalls} times while handling this payload`;

  return {
    archive<R>(handler: (raw: RawEvent, context: JobContext) => Promise<R>) {
      return async (raw: RawEvent, context: JobContext): Promise<R | { outcome: ArchiveOutcome }> => {
        const stalls = context.job.stalledCounter;
        if (stalls < maxStalls) return handler(raw, context);
        let body: Buffer;
        try {
          body = await readBody(redis, raw.body.key, raw.body.chunks);
        } catch (error) {
          // The body goes only after the event is archived: the handler knows what a missing one means.
          if (error instanceof BodyMissingError) return handler(raw, context);
          throw error;
        }
        await deps.quarantine(raw, body, reasonFor(stalls), CRASHES_ARCHIVER);
        metrics.parseFailures.inc({ code: CRASHES_ARCHIVER });
        metrics.events.inc({ outcome: 'quarantined', family: 'unknown' });
        logger.error({ eventId: raw.id, stalls }, 'event quarantined: the archiver keeps dying while handling it');
        await deps.bodies.remove(raw.body.key);
        return { outcome: 'quarantined' };
      };
    },
    /** A re-run that kills the archiver leaves its quarantine row, marked still failing with the new reason. */
    reprocess<P extends { quarantineId: string }, R>(handler: (payload: P, context: JobContext) => Promise<R>) {
      return async (payload: P, context: JobContext): Promise<R | { outcome: 'still_failing' }> => {
        const stalls = context.job.stalledCounter;
        if (stalls < maxStalls) return handler(payload, context);
        await deps.db
          .updateTable('quarantined_events')
          .set({ reprocessed_at: new Date(), reprocess_outcome: 'still_failing', reason_code: CRASHES_ARCHIVER, reason: reasonFor(stalls) })
          .where('id', '=', payload.quarantineId)
          .execute();
        logger.error({ eventId: payload.quarantineId, stalls }, 'quarantined payload re-run abandoned: the archiver keeps dying while handling it');
        return { outcome: 'still_failing' };
      };
    },
  };
}
