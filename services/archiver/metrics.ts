import { Counter, Histogram, type Registry } from 'prom-client';
import { EVENT_FAMILIES } from '../../libs/hikvision/event-model.js';
import { LATENCY_BUCKETS_SECONDS } from '../../libs/metrics/registry.js';

export const ARCHIVE_OUTCOMES = ['archived', 'duplicate', 'already_archived', 'heartbeat', 'quarantined'] as const;
export type ArchiveOutcome = (typeof ARCHIVE_OUTCOMES)[number];

/** What the archiver writes in batches (the label of hikhub_archiver_batch_items). */
export const BATCHED_WRITES = ['events', 'logged', 'logs', 'bodies'] as const;
export type BatchedWrite = (typeof BATCHED_WRITES)[number];

export function createArchiverMetrics(registry: Registry) {
  const metrics = {
    events: new Counter({
      name: 'hikhub_archiver_events_total',
      help: 'Jobs finished by the archiver, by outcome and event family',
      labelNames: ['outcome', 'family'] as const,
      registers: [registry],
    }),
    parseFailures: new Counter({
      name: 'hikhub_archiver_parse_failures_total',
      help: 'Payloads quarantined because they could not be parsed or stored, by reason code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    jobFailures: new Counter({
      name: 'hikhub_archiver_job_failures_total',
      help: 'Archive attempts that threw; final="true" when no attempt is left and the job is parked as failed',
      labelNames: ['final'] as const,
      registers: [registry],
    }),
    dbWriteDuration: new Histogram({
      name: 'hikhub_archiver_db_write_duration_seconds',
      help: 'Time to write an event and its pictures: its batch\'s INSERT, waiting for the batch included',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'hikhub_archiver_job_duration_seconds',
      help: 'Time to archive one event, from job start to completion',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    pictureBytes: new Counter({
      name: 'hikhub_archiver_picture_bytes_total',
      help: 'Picture bytes written to disk',
      registers: [registry],
    }),
    orphanBodies: new Counter({
      name: 'hikhub_archiver_orphan_bodies_total',
      help: 'Event bodies found in Redis without a job, moved to quarantine/orphans on disk',
      registers: [registry],
    }),
    batchSplitEvents: new Counter({
      name: 'hikhub_archiver_batch_split_events_total',
      help: 'Events of an event.archive-batch job handed on as single event.archive jobs: reason="failed" (the event failed on its own), "stalled" (an archiver died during the batch)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    eventLag: new Histogram({
      name: 'hikhub_archiver_event_lag_seconds',
      help: 'Time from ingest receiving an event to the archiver committing it',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    batchItems: new Histogram({
      name: 'hikhub_archiver_batch_items',
      help: 'Items per batched write (events: rows per INSERT, logged: ids per UPDATE, logs: events per log append, bodies: keys per UNLINK pipeline)',
      labelNames: ['write'] as const,
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
  };
  for (const outcome of ARCHIVE_OUTCOMES) {
    for (const family of [...EVENT_FAMILIES, 'unknown']) metrics.events.inc({ outcome, family }, 0);
  }
  for (const final of ['true', 'false']) metrics.jobFailures.inc({ final }, 0);
  for (const reason of ['failed', 'stalled']) metrics.batchSplitEvents.inc({ reason }, 0);
  const observeBatch = (write: BatchedWrite, size: number) => metrics.batchItems.observe({ write }, size);
  return { ...metrics, observeBatch };
}

export type ArchiverMetrics = ReturnType<typeof createArchiverMetrics>;
