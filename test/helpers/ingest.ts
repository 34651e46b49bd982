import { loadEnv, ingestEnvSchema, type IngestEnv } from '../../libs/config/env.js';
import { createLogger } from '../../libs/logger/logger.js';
import { startIngest } from '../../services/ingest/ingest-service.js';
import { TEST_REDIS_URL } from './redis.js';

/** The real ingest service in this process, on ephemeral ports. */
export async function startTestIngest(overrides: Record<string, string>) {
  const env: IngestEnv = loadEnv(ingestEnvSchema, {
    REDIS_URL: TEST_REDIS_URL,
    INGEST_HOST: '127.0.0.1',
    INGEST_PORT: '0',
    INGEST_METRICS_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
  return startIngest(env, createLogger('ingest', env.LOG_LEVEL));
}
