import { RAW_EVENT_VERSION, rawEventV1Schema } from './raw-event.js';
import { FULL_JITTER_BACKOFF } from './backoff.js';
import type { JobDefinition } from './definition.js';

export const EVENTS_QUEUE = 'events';

/** Jobs on the events queue: one per POST a device made. */
export const eventJobs = {
  'event.archive': {
    queue: EVENTS_QUEUE,
    version: RAW_EVENT_VERSION,
    schema: rawEventV1Schema,
    options: {
      // Postgres or disk trouble is retried for well over an hour before a job is parked as failed.
      attempts: 25,
      backoff: { type: FULL_JITTER_BACKOFF, delay: 1_000 },
      removeOnComplete: { count: 1_000 },
      removeOnFail: { count: 10_000 },
    },
    backoff: { baseMs: 1_000, capMs: 5 * 60_000 },
  },
} as const satisfies Record<string, JobDefinition>;
