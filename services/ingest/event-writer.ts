import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bodyKey, writeBody } from '../../libs/jobs/body-store.js';
import { addJob } from '../../libs/jobs/queues.js';
import { RAW_EVENT_VERSION, type RawEvent } from '../../libs/jobs/raw-event.js';
import { withTimeout } from '../../libs/redis/connection.js';

export type RequestRecord = Omit<RawEvent, 'v' | 'body'>;

/**
 * The durable write that must succeed before a device hears 200: the body chunks, then the
 * job that points at them (job id = event id). If the job cannot be added the body is removed
 * again; if Redis does not answer within the timeout the caller answers 503.
 */
export function createEventWriter(options: { redis: Redis; queue: Queue; prefix: string; timeoutMs: number }) {
  const { redis, queue, prefix, timeoutMs } = options;
  return async function writeEvent(record: RequestRecord, body: Buffer): Promise<void> {
    const key = bodyKey(prefix, record.id);
    const write = async () => {
      const chunks = await writeBody(redis, key, body);
      try {
        await addJob(queue, 'event.archive', { v: RAW_EVENT_VERSION, ...record, body: { key, bytes: body.length, chunks } }, { jobId: record.id });
      } catch (error) {
        redis.unlink(key).catch(() => {});
        throw error;
      }
    };
    await withTimeout(write(), timeoutMs);
  };
}

export type EventWriter = ReturnType<typeof createEventWriter>;
