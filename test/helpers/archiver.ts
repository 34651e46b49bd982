import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiverEnvSchema, loadEnv, type ArchiverEnv } from '../../libs/config/env.js';
import { createLogger } from '../../libs/logger/logger.js';
import { startArchiver } from '../../services/archiver/archiver-service.js';
import { createTestDatabaseUrl } from './database.js';
import { createTestPrefix, TEST_REDIS_URL } from './redis.js';

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

/** A test file's own database, Redis prefix and data directory, torn down together. */
export async function createTestWorld(label: string) {
  const database = await createTestDatabaseUrl(label);
  const redis = createTestPrefix(label);
  const dataDir = await mkdtemp(join(tmpdir(), `hikhub-${label}-`));
  return {
    databaseUrl: database.url,
    prefix: redis.prefix,
    dataDir,
    env: { DATABASE_URL: database.url, QUEUE_PREFIX: redis.prefix, DATA_DIR: dataDir },
    teardown: async () => {
      await redis.cleanup();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
