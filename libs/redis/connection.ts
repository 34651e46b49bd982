import { Redis, type RedisOptions } from 'ioredis';

/**
 * Two kinds of Redis connection, as BullMQ's production guide asks:
 * - producers fail fast (no offline queue), so ingest can answer 503 instead of piling requests up;
 * - workers wait forever for Redis to come back (maxRetriesPerRequest: null).
 * Both reconnect on their own with a capped backoff.
 */
const reconnect: RedisOptions['retryStrategy'] = (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000);

/** Connection errors are expected during outages (ioredis reconnects); log them, never crash on them. */
interface ErrorLog {
  warn: (obj: object, msg: string) => void;
}

function withErrorLog(redis: Redis, log: ErrorLog | undefined): Redis {
  redis.on('error', (error: Error) => log?.warn({ err: error.message }, 'redis connection error'));
  return redis;
}

export function createProducerConnection(url: string, name: string, log?: ErrorLog): Redis {
  return withErrorLog(new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: reconnect,
  }), log);
}

export function createWorkerConnection(url: string, name: string, log?: ErrorLog): Redis {
  return withErrorLog(new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: 5_000,
    retryStrategy: reconnect,
  }), log);
}

export async function isRedisReady(redis: Redis): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  try {
    return (await withTimeout(redis.ping(), 1_000)) === 'PONG';
  } catch {
    return false;
  }
}

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Wait until the connection is ready, up to `ms`; false when it is not (the caller decides whether that is fatal). */
export function waitUntilReady(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

/**
 * BullMQ loses jobs when Redis evicts keys (its production guide: noeviction is the only safe
 * policy). Say so loudly at boot; managed Redis that forbids CONFIG is given the benefit of the doubt.
 */
export async function checkEvictionPolicy(redis: Redis, log: { error: (obj: object, msg: string) => void }): Promise<string | null> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy && policy !== 'noeviction') {
      log.error({ policy }, 'Redis maxmemory-policy is not noeviction: queued events can be evicted and lost; set maxmemory-policy noeviction');
    }
    return policy ?? null;
  } catch {
    return null;
  }
}
