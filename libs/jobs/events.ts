import { z } from 'zod';
import { RAW_EVENT_VERSION, rawEventV1Schema } from './raw-event.js';
import { FULL_JITTER_BACKOFF } from './backoff.js';
import type { JobDefinition } from './definition.js';

export const EVENTS_QUEUE = 'events';

export const REPROCESS_QUARANTINED_VERSION = 1;

/** Re-run a quarantined payload through the archiver's parser (after a parser fix): the row's id only; bytes stay on disk. */
export const reprocessQuarantinedV1Schema = z.object({
  v: z.literal(REPROCESS_QUARANTINED_VERSION),
  quarantineId: z.uuid(),
});

/**
 * Below every live event: event.archive jobs carry no priority and BullMQ takes those first, so
 * re-running a large quarantine never delays what devices are sending now.
 */
export const REPROCESS_PRIORITY = 100;

/** One job per quarantined row (`reprocess__<id>`), so asking twice while it waits queues it once. */
export const reprocessJobId = (quarantineId: string) => `reprocess__${quarantineId}`;

/** The reason code a re-run gives a quarantined row whose stored body is gone: no parser can help it. */
export const QUARANTINE_BODY_MISSING = 'body_missing';

export const EVENT_BATCH_VERSION = 1;

/**
 * Events the ingest wrote in one transaction, carried by one job instead of one job each (a job
 * costs ~100 µs of BullMQ on either side, more than the event itself): each event exactly as an
 * `event.archive` payload, body ref included. At least 2: a lone event goes as `event.archive`.
 */
export const eventArchiveBatchV1Schema = z.object({
  v: z.literal(EVENT_BATCH_VERSION),
  events: z.array(rawEventV1Schema).min(2),
});

/** Events per batch job at most; the ingest writes more as several batch jobs in the same transaction. */
export const EVENT_BATCH_MAX_EVENTS = 64;

/** A batch job's id: its first event's (unique) id, marked so it never collides with an event's own job. */
export const eventBatchJobId = (firstEventId: string) => `batch__${firstEventId}`;

/**
 * Attempts and backoff of an archive job, single or batch. For the job's own errors: an outage of
 * Postgres or DATA_DIR spends none (the archiver holds its jobs, services/archiver/outage-guard.ts),
 * nor does a killed archiver (crash-quarantine.ts).
 */
const ARCHIVE_RETRY_POLICY = {
  options: {
    attempts: 25,
    backoff: { type: FULL_JITTER_BACKOFF, delay: 1_000 },
    removeOnComplete: { count: 1_000 },
    removeOnFail: { count: 10_000 },
  },
  backoff: { baseMs: 1_000, capMs: 5 * 60_000 },
} satisfies Pick<JobDefinition, 'options' | 'backoff'>;

/** Jobs on the events queue: one per POST a device made (or per batch of them), and re-runs of quarantined payloads. */
export const eventJobs = {
  'event.archive': {
    queue: EVENTS_QUEUE,
    version: RAW_EVENT_VERSION,
    schema: rawEventV1Schema,
    ...ARCHIVE_RETRY_POLICY,
  },
  'event.archive-batch': {
    queue: EVENTS_QUEUE,
    version: EVENT_BATCH_VERSION,
    schema: eventArchiveBatchV1Schema,
    // As event.archive: an event that fails on its own is split out into an event.archive job (services/archiver/archive-batch.ts).
    ...ARCHIVE_RETRY_POLICY,
  },
  'event.reprocess-quarantined': {
    queue: EVENTS_QUEUE,
    version: REPROCESS_QUARANTINED_VERSION,
    schema: reprocessQuarantinedV1Schema,
    options: {
      attempts: 10,
      priority: REPROCESS_PRIORITY,
      backoff: { type: FULL_JITTER_BACKOFF, delay: 1_000 },
      removeOnComplete: { count: 1_000 },
      removeOnFail: { count: 10_000 },
    },
    backoff: { baseMs: 1_000, capMs: 60_000 },
  },
} as const satisfies Record<string, JobDefinition>;
