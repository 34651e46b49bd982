import { randomBytes } from 'node:crypto';
import { createRedisConnection } from '../../libs/redis/connection.js';
import { deleteKeysWithPrefix } from '../../libs/redis/keys.js';
import { redisModeOf } from '../../libs/redis/redis-target.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A BullMQ prefix of its own for one test file (on the shared Redis unless `redisUrl` names
 * another); `cleanup()` removes every key under it. On a Redis Cluster the prefix is hash-tagged,
 * as hikhub requires there.
 */
export function createTestPrefix(label: string, redisUrl = TEST_REDIS_URL): { prefix: string; cleanup: () => Promise<void> } {
  const name = `hikhub-test-${label}-${randomBytes(4).toString('hex')}`;
  const prefix = redisModeOf(redisUrl) === 'cluster' ? `{${name}}` : name;
  return {
    prefix,
    cleanup: async () => {
      const redis = createRedisConnection(redisUrl, 'worker', 'hikhub-test-cleanup');
      try {
        await deleteKeysWithPrefix(redis, prefix);
      } finally {
        redis.disconnect();
      }
    },
  };
}
