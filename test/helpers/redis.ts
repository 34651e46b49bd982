import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A BullMQ prefix of its own for one test file on the shared Redis; `cleanup()` removes every key under it. */
export function createTestPrefix(label: string): { prefix: string; cleanup: () => Promise<void> } {
  const prefix = `hikhub-test-${label}-${randomBytes(4).toString('hex')}`;
  return {
    prefix,
    cleanup: async () => {
      const redis = new Redis(TEST_REDIS_URL);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
