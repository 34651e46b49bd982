import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisConnection, isCluster, type RedisClient } from '../../libs/redis/connection.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

/**
 * One factory makes every hikhub connection, and the topology does not change what a role means:
 * producers fail fast (no offline queue, one retry), workers wait for Redis (maxRetriesPerRequest
 * null, as BullMQ requires). The cluster and sentinel clients are only inspected here (their
 * servers are started by redis-cluster.test.ts and redis-sentinel.test.ts).
 */
describe('Redis connections by topology and role', () => {
  const created: RedisClient[] = [];
  const make = (url: string, role: 'producer' | 'worker') => {
    const client = createRedisConnection(url, role, `hikhub-test-${role}`);
    client.on('error', () => {});
    created.push(client);
    return client;
  };

  it('one Redis: the URL as given, the role in the options, the name on the server', async () => {
    const producer = make(TEST_REDIS_URL, 'producer') as Redis;
    const worker = make(TEST_REDIS_URL, 'worker') as Redis;
    try {
      expect(isCluster(producer)).toBe(false);
      expect(producer.options).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      expect(worker.options).toMatchObject({ enableOfflineQueue: true, maxRetriesPerRequest: null });
      expect(await worker.client('GETNAME')).toBe('hikhub-test-worker');
    } finally {
      for (const client of created.splice(0)) client.disconnect();
    }
  });

  it('a cluster: seed nodes, credentials and TLS on every node, the role on the cluster', () => {
    const producer = make('rediss+cluster://app:secret@127.0.0.1:1,127.0.0.1:2', 'producer') as Cluster;
    const worker = make('redis+cluster://127.0.0.1:1', 'worker') as Cluster;
    try {
      expect(isCluster(producer)).toBe(true);
      expect(producer.options).toMatchObject({ enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 1, username: 'app', password: 'secret', tls: {} } });
      expect(worker.options).toMatchObject({ enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: null } });
    } finally {
      for (const client of created.splice(0)) client.disconnect();
    }
  });

  it('sentinel: the sentinels, the master name and db, its own password, failover detection', () => {
    const producer = make('redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/site-a/2?sentinelPassword=sp', 'producer') as Redis;
    try {
      expect(isCluster(producer)).toBe(false);
      expect(producer.options).toMatchObject({
        sentinels: [
          { host: '127.0.0.1', port: 1 },
          { host: '127.0.0.1', port: 2 },
        ],
        name: 'site-a',
        db: 2,
        password: 'pw',
        sentinelPassword: 'sp',
        failoverDetector: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
      });
    } finally {
      for (const client of created.splice(0)) client.disconnect();
    }
  });
});
