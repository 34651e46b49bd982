import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { writeFileAtomic } from '../../libs/files/atomic-write.js';
import { uuidV7Time } from '../../libs/ids/uuid-v7.js';
import { BODY_JOB_FIELD, readStoredBody } from '../../libs/jobs/body-store.js';
import type { RedisClient } from '../../libs/redis/connection.js';
import { keyLayout } from '../../libs/redis/key-layout.js';
import { scanKeys } from '../../libs/redis/keys.js';
import type { Logger } from '../../libs/logger/logger.js';
import type { Counter } from 'prom-client';

/**
 * A body whose job no longer exists is an orphan (its job: the one with its event's id, or the
 * batch job its hash names, body-store.ts BODY_JOB_FIELD): ingest wrote it and then lost Redis before the
 * job was added (the device was answered 503 and will resend), or the failed-job retention trimmed
 * the job. Orphans older than `minAgeMs` are moved to DATA_DIR/quarantine/orphans/<id>.bin and
 * removed from Redis, so Redis memory cannot leak and no bytes are dropped.
 */
export function createOrphanBodySweeper(options: {
  redis: RedisClient;
  queue: Queue;
  prefix: string;
  dataDir: string;
  minAgeMs: number;
  counter: Counter<string>;
  logger: Logger;
}) {
  const { redis, queue, prefix, dataDir, minAgeMs, counter, logger } = options;
  const keyPrefix = keyLayout(prefix).bodyPrefix;

  async function sweep(now = Date.now()): Promise<number> {
    let moved = 0;
    // Every master of a cluster is scanned (scanKeys), so a body is found wherever its slot lives.
    for await (const keys of scanKeys(redis, `${keyPrefix}*`)) {
      for (const key of keys) {
        const id = key.slice(keyPrefix.length);
        const createdAt = uuidV7Time(id);
        if (createdAt === null || now - createdAt < minAgeMs) continue;
        if (await queue.getJob(id)) continue;
        // Written in a batch: its batch job carries it (or, once split out, a job with the event's own id, checked above).
        // Asked before the body is read, so a live backlog's bodies are not loaded on every sweep.
        const batchJobId = await redis.hget(key, BODY_JOB_FIELD);
        if (batchJobId !== null && (await queue.getJob(batchJobId))) continue;
        const body = await readStoredBody(redis, key);
        if (body === null) continue;
        await writeFileAtomic(join(dataDir, 'quarantine', 'orphans', `${id}.bin`), body);
        await redis.unlink(key);
        counter.inc();
        moved += 1;
        logger.warn({ eventId: id, bytes: body.length }, 'orphaned event body moved to quarantine/orphans');
      }
    }
    return moved;
  }

  // The service runs it on a timer (libs/lifecycle/periodic-task.ts).
  return { sweep };
}
