import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { apiEnvSchema, loadEnv } from '../../libs/config/env.js';
import { createDb } from '../../libs/db/database.js';
import { PROVISIONING_QUEUE } from '../../libs/jobs/provisioning.js';
import { REDACTED_PATHS } from '../../libs/logger/logger.js';
import { startApi } from '../../services/api/api-service.js';
import { createIsolation } from './isolation.js';
import { TEST_REDIS_URL } from './redis.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: any;
}

export interface RequestOptions {
  json?: unknown;
  body?: Buffer | string;
  contentType?: string;
  /** The bearer token to send; null sends none. Defaults to the API's admin token. */
  token?: string | null;
}

/**
 * The real admin API in this process on ephemeral ports, with its own database, Redis prefix
 * and data directory; every log line is kept in `logLines` so tests can look for leaks.
 */
export async function startTestApi(label: string, overrides: Record<string, string> = {}) {
  const isolation = await createIsolation(label);
  const logLines: string[] = [];
  const logger = pino({ level: 'debug', base: { service: 'api' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, { write: (line: string) => void logLines.push(line) });
  const env = loadEnv(apiEnvSchema, {
    REDIS_URL: TEST_REDIS_URL,
    DATABASE_URL: isolation.databaseUrl,
    QUEUE_PREFIX: isolation.prefix,
    DATA_DIR: isolation.dataDir,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    API_METRICS_PORT: '0',
    PROVISIONING_ATTEMPTS: '3',
    ...overrides,
  });
  const api = await startApi(env, logger);
  const redis = new Redis(TEST_REDIS_URL);
  const queue = new Queue(PROVISIONING_QUEUE, { connection: redis, prefix: isolation.prefix });
  const db = createDb(isolation.databaseUrl, 2);

  async function request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? api.adminToken : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: Buffer | string | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    if (options.contentType) headers['content-type'] = options.contentType;
    const response = await fetch(`http://127.0.0.1:${api.port}${path}`, { method, headers, body });
    const bytes = Buffer.from(await response.arrayBuffer());
    const text = bytes.toString('utf8');
    let parsed: unknown;
    if (response.headers.get('content-type')?.includes('json')) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, bytes, text, body: parsed };
  }

  return {
    api,
    env,
    db,
    redis,
    queue,
    logLines,
    request,
    metrics: async () => (await fetch(`http://127.0.0.1:${api.metricsPort}/metrics`)).text(),
    close: async () => {
      await api.stop();
      await queue.close();
      redis.disconnect();
      await db.destroy();
      await isolation.release();
    },
  };
}

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;
