import { Queue } from 'bullmq';
import { archiverEnvSchema, loadEnv, type ArchiverEnv } from '../../libs/config/env.js';
import { createDb } from '../../libs/db/database.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { createLogger } from '../../libs/logger/logger.js';
import { createRedisConnection } from '../../libs/redis/connection.js';
import { startArchiver } from '../../services/archiver/archiver-service.js';
import { createIsolation } from './isolation.js';
import { TEST_REDIS_URL } from './redis.js';

export function archiverTestEnv(overrides: Record<string, string>): ArchiverEnv {
  return loadEnv(archiverEnvSchema, {
    REDIS_URL: TEST_REDIS_URL,
    ARCHIVER_METRICS_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
}

/** The real archiver in this process against the shared Redis and Postgres. */
export async function startTestArchiver(overrides: Record<string, string>) {
  const env = archiverTestEnv(overrides);
  return startArchiver(env, createLogger('archiver', env.LOG_LEVEL));
}

/**
 * A test file's own database, Redis prefix and data directory, plus connections to look at them
 * (`db`, `redis`, and `queue` for the events queue), all torn down together.
 */
export async function createTestWorld(label: string, redisUrl = TEST_REDIS_URL) {
  const isolation = await createIsolation(label, redisUrl);
  // Kysely connects on first query, so this is safe before any service has created the database.
  const db = createDb(isolation.databaseUrl, 2);
  const redis = createRedisConnection(redisUrl, 'worker', 'hikhub-test-world');
  const queue = new Queue(EVENTS_QUEUE, { connection: redis, prefix: isolation.prefix });
  return {
    databaseUrl: isolation.databaseUrl,
    prefix: isolation.prefix,
    dataDir: isolation.dataDir,
    env: { DATABASE_URL: isolation.databaseUrl, QUEUE_PREFIX: isolation.prefix, DATA_DIR: isolation.dataDir, REDIS_URL: redisUrl },
    db,
    redis,
    queue,
    teardown: async () => {
      await queue.close();
      redis.disconnect();
      await db.destroy();
      await isolation.release();
    },
  };
}
