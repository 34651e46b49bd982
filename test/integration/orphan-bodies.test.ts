import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Counter, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { BODY_JOB_FIELD, bodyKey, writeBody } from '../../libs/jobs/body-store.js';
import { EVENTS_QUEUE, eventBatchJobId } from '../../libs/jobs/events.js';
import { createQueue } from '../../libs/jobs/queues.js';
import { uuidV7, uuidV7Time } from '../../libs/ids/uuid-v7.js';
import { createLogger } from '../../libs/logger/logger.js';
import { createOrphanBodySweeper } from '../../services/archiver/orphan-bodies.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';

describe('orphaned event bodies', () => {
  const { prefix, cleanup } = createTestPrefix('orphans');
  afterAll(cleanup);

  it('moves old bodies without a job to disk, leaves bodies with a job and recent ones alone', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const queue = createQueue(EVENTS_QUEUE, redis, prefix);
    const dataDir = await mkdtemp(join(tmpdir(), 'hikhub-orphans-'));
    try {
      const twoHoursAgo = Date.now() - 2 * 3600_000;
      const orphan = uuidV7(twoHoursAgo);
      const withJob = uuidV7(twoHoursAgo);
      const recent = uuidV7();
      const body = Buffer.alloc(40_000, 9);
      for (const id of [orphan, withJob, recent]) await writeBody(redis, bodyKey(prefix, id), body);
      await queue.add('event.archive', { id: withJob }, { jobId: withJob });

      const counter = new Counter({ name: 'orphans_total', help: 'x', registers: [new Registry()] });
      const sweeper = createOrphanBodySweeper({ redis, queue, prefix, dataDir, minAgeMs: 3600_000, counter, logger: createLogger('test', 'silent') });
      expect(await sweeper.sweep()).toBe(1);
      expect((await readFile(join(dataDir, 'quarantine', 'orphans', `${orphan}.bin`))).equals(body)).toBe(true);
      expect(await redis.exists(bodyKey(prefix, orphan))).toBe(0);
      expect(await redis.exists(bodyKey(prefix, withJob))).toBe(1);
      expect(await redis.exists(bodyKey(prefix, recent))).toBe(1);
      expect((await counter.get()).values[0]?.value).toBe(1);
      expect(uuidV7Time(orphan)).toBe(twoHoursAgo);
    } finally {
      await queue.close();
      redis.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps a body its batch job carries, or that was split out into its own job, and moves one whose batch job is gone', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const queue = createQueue(EVENTS_QUEUE, redis, prefix);
    const dataDir = await mkdtemp(join(tmpdir(), 'hikhub-orphans-'));
    try {
      const twoHoursAgo = Date.now() - 2 * 3600_000;
      const [carried, splitOut, abandoned] = [uuidV7(twoHoursAgo), uuidV7(twoHoursAgo), uuidV7(twoHoursAgo)];
      // 40 kB: three chunks, whose order the sweep must keep although the hash also holds the job field.
      const body = Buffer.alloc(40_000);
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
      const liveBatch = eventBatchJobId(carried);
      const goneBatch = eventBatchJobId(splitOut);
      for (const [id, batch] of [[carried, liveBatch], [splitOut, goneBatch], [abandoned, goneBatch]] as const) {
        await writeBody(redis, bodyKey(prefix, id), body);
        await redis.hset(bodyKey(prefix, id), BODY_JOB_FIELD, batch);
      }
      await queue.add('event.archive-batch', { v: 1, events: [] }, { jobId: liveBatch });
      await queue.add('event.archive', { id: splitOut }, { jobId: splitOut });

      const counter = new Counter({ name: 'orphans_total', help: 'x', registers: [new Registry()] });
      const sweeper = createOrphanBodySweeper({ redis, queue, prefix, dataDir, minAgeMs: 3600_000, counter, logger: createLogger('test', 'silent') });
      expect(await sweeper.sweep()).toBe(1);
      expect((await readFile(join(dataDir, 'quarantine', 'orphans', `${abandoned}.bin`))).equals(body)).toBe(true);
      expect(await redis.exists(bodyKey(prefix, abandoned))).toBe(0);
      expect(await redis.exists(bodyKey(prefix, carried))).toBe(1);
      expect(await redis.exists(bodyKey(prefix, splitOut))).toBe(1);
    } finally {
      await queue.close();
      redis.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
