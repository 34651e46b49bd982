import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisTarget } from './redis-target.js';

/** A connection to hikhub's Redis: one server (plain or found through Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** The connections holding data: every master of a cluster (SCAN, INFO, CONFIG are per node), else the one server. */
export function primaryNodes(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/**
 * Two kinds of Redis connection, as BullMQ's production guide asks:
 * - producers fail fast (no offline queue), so ingest can answer 503 instead of piling requests up;
 * - workers wait forever for Redis to come back (maxRetriesPerRequest: null).
 * Both reconnect on their own with a capped backoff.
 */
export type ConnectionRole = 'producer' | 'worker';

const reconnect = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000);

const ROLE_OPTIONS: Record<ConnectionRole, { enableOfflineQueue: boolean; maxRetriesPerRequest: number | null; connectTimeout: number }> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 },
  worker: { enableOfflineQueue: true, maxRetriesPerRequest: null, connectTimeout: 5_000 },
};

/** Connection errors are expected during outages (ioredis reconnects); log them, never crash on them. */
interface ErrorLog {
  warn: (obj: object, msg: string) => void;
}

function withErrorLog<T extends RedisClient>(redis: T, log: ErrorLog | undefined): T {
  redis.on('error', (error: Error) => log?.warn({ err: error.message }, 'redis connection error'));
  return redis;
}

/** The one place a hikhub Redis connection is made, from REDIS_URL (see redis-target.ts for the three shapes). */
export function createRedisConnection(url: string | RedisTarget, role: ConnectionRole, name: string, log?: ErrorLog): RedisClient {
  const target = typeof url === 'string' ? parseRedisUrl(url) : url;
  const { enableOfflineQueue, maxRetriesPerRequest, connectTimeout } = ROLE_OPTIONS[role];
  const common: RedisOptions = {
    connectionName: name,
    connectTimeout,
    maxRetriesPerRequest,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  switch (target.mode) {
    case 'standalone':
      // The URL keeps carrying what it always did (db, auth, rediss); the options add the role.
      return withErrorLog(new Redis(target.url, { connectionName: name, connectTimeout, maxRetriesPerRequest, enableOfflineQueue, enableReadyCheck: true, retryStrategy: reconnect }), log);
    case 'sentinel':
      return withErrorLog(
        new Redis({
          ...common,
          sentinels: target.sentinels,
          name: target.name,
          db: target.db,
          ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
          ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
          // Subscribe to +switch-master so a failover is followed at once, not at the next error.
          failoverDetector: true,
          enableOfflineQueue,
          enableReadyCheck: true,
          retryStrategy: reconnect,
        }),
        log,
      );
    case 'cluster': {
      const options: ClusterOptions = {
        redisOptions: common,
        enableOfflineQueue,
        enableReadyCheck: true,
        clusterRetryStrategy: reconnect,
        // A failover moves slots: let ioredis follow MOVED/CLUSTERDOWN for a few seconds before failing a command.
        retryDelayOnClusterDown: 200,
        retryDelayOnFailover: 200,
        // TLS: connect by the seed's name, not a resolved IP, so the certificate's name can match
        // (ioredis's advice for managed clusters such as ElastiCache).
        ...(target.tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
      };
      return withErrorLog(new Cluster(target.nodes, options), log);
    }
  }
}

export function createProducerConnection(url: string, name: string, log?: ErrorLog): RedisClient {
  return createRedisConnection(url, 'producer', name, log);
}

export function createWorkerConnection(url: string, name: string, log?: ErrorLog): RedisClient {
  return createRedisConnection(url, 'worker', name, log);
}

export async function isRedisReady(redis: RedisClient): Promise<boolean> {
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
export function waitUntilReady(redis: RedisClient, ms: number): Promise<boolean> {
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
export async function checkEvictionPolicy(redis: RedisClient, log: { error: (obj: object, msg: string) => void }): Promise<string | null> {
  // Every master of a cluster holds queued events: one that evicts is enough to lose them.
  let found: string | null = null;
  if (isCluster(redis)) await waitUntilReady(redis, 5_000); // its node list is empty until the slots are known
  for (const node of primaryNodes(redis)) {
    try {
      const [, policy] = (await node.config('GET', 'maxmemory-policy')) as [string, string];
      if (policy && policy !== 'noeviction') {
        const where = isCluster(redis) ? { node: `${node.options.host}:${node.options.port}` } : {};
        log.error({ policy, ...where }, 'Redis maxmemory-policy is not noeviction: queued events can be evicted and lost; set maxmemory-policy noeviction');
      }
      if (policy && (found === null || found === 'noeviction')) found = policy;
    } catch {
      // managed Redis that forbids CONFIG
    }
  }
  return found;
}
