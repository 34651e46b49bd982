import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Counter, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { bodyKey, writeBody } from '../../libs/jobs/body-store.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
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
});
