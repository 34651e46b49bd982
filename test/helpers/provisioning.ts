import { Queue, type Job } from 'bullmq';
import { loadEnv, provisionerEnvSchema } from '../../libs/config/env.js';
import { SecretBox } from '../../libs/crypto/secret-box.js';
import { createDb, ensureDatabaseExists } from '../../libs/db/database.js';
import { migrateToLatest } from '../../libs/db/migrator.js';
import { PROVISIONING_QUEUE } from '../../libs/jobs/provisioning.js';
import { createLogger } from '../../libs/logger/logger.js';
import { DesiredState } from '../../libs/provisioning/desired-state.js';
import { ProvisioningJobs } from '../../libs/provisioning/provisioning-jobs.js';
import { createRedisConnection } from '../../libs/redis/connection.js';
import { startProvisioner } from '../../services/provisioner/provisioner-service.js';
import { createIsolation } from './isolation.js';
import { TEST_REDIS_URL } from './redis.js';
import { waitFor } from './wait.js';

export const TEST_CREDENTIALS_KEY = Buffer.alloc(32, 7).toString('base64');

/**
 * A test file's provisioning world: its own database (migrated), Redis prefix and data dir, the
 * desired-state repository and job producer the admin API uses, torn down together.
 */
export async function createProvisioningWorld(label: string, redisUrl = TEST_REDIS_URL) {
  const isolation = await createIsolation(label, redisUrl);
  await ensureDatabaseExists(isolation.databaseUrl);
  const db = createDb(isolation.databaseUrl, 4);
  await migrateToLatest(db, createLogger('test', 'silent'));
  const redis = createRedisConnection(redisUrl, 'worker', 'hikhub-test-provisioning');
  const queue = new Queue(PROVISIONING_QUEUE, { connection: redis, prefix: isolation.prefix });
  const desired = new DesiredState(db, SecretBox.fromText(TEST_CREDENTIALS_KEY));
  const jobs = new ProvisioningJobs(queue, { attempts: 20, redis, prefix: isolation.prefix });
  const env = {
    DATABASE_URL: isolation.databaseUrl,
    QUEUE_PREFIX: isolation.prefix,
    DATA_DIR: isolation.dataDir,
    CREDENTIALS_KEY: TEST_CREDENTIALS_KEY,
    REDIS_URL: redisUrl,
    RECONCILE_INTERVAL_MS: '0',
    PROVISIONER_METRICS_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  return {
    db,
    redis,
    queue,
    desired,
    jobs,
    env,
    prefix: isolation.prefix,
    /** Waits until the job reaches a final state and returns it. */
    async finished(jobId: string, timeoutMs = 30_000): Promise<Job> {
      await waitFor(async () => {
        const state = await queue.getJobState(jobId);
        return state === 'completed' || state === 'failed';
      }, timeoutMs, `job ${jobId} to finish`);
      // Read after the state is final: a job read first could still be active (no return value yet)
      // when the state read that follows already says completed.
      const job = await queue.getJob(jobId);
      if (!job) throw new Error(`job ${jobId} finished but is gone`);
      return job;
    },
    teardown: async () => {
      await queue.close();
      redis.disconnect();
      await db.destroy();
      await isolation.release();
    },
  };
}

export async function startTestProvisioner(overrides: Record<string, string>) {
  const env = loadEnv(provisionerEnvSchema, overrides);
  return startProvisioner(env, createLogger('provisioner', env.LOG_LEVEL));
}
