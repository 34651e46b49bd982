import type { Job, Queue } from 'bullmq';
import { BODY_JOB_FIELD, bodyKey } from '../../libs/jobs/body-store.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { RedisClient } from '../../libs/redis/connection.js';

/**
 * The job that carries an event the ingest acknowledged, and the event's payload in it: its own
 * `event.archive` job (job id = event id), or the `event.archive-batch` job its body hash names
 * (found while the body is still in Redis, i.e. before the event is archived).
 */
export async function findEventJob(queue: Queue, redis: RedisClient, prefix: string, eventId: string): Promise<{ job: Job; event: RawEvent } | undefined> {
  const single = await queue.getJob(eventId);
  if (single) return { job: single, event: single.data as RawEvent };
  const batchId = await redis.hget(bodyKey(prefix, eventId), BODY_JOB_FIELD);
  const batch = batchId ? await queue.getJob(batchId) : undefined;
  const event = (batch?.data as { events?: RawEvent[] } | undefined)?.events?.find((candidate) => candidate.id === eventId);
  return batch && event ? { job: batch, event } : undefined;
}
