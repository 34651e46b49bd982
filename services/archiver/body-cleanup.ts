import type { Redis } from 'ioredis';
import { createMicroBatcher } from './micro-batcher.js';

/**
 * Bodies leave Redis once their event is safe, many at a time: the removals of concurrent jobs go
 * out as one UNLINK of all their keys (one command, one round trip). Every hikhub key shares the
 * prefix's hash tag on Redis Cluster (libs/redis/key-layout.ts), so one command may name them all.
 */
export function createBodyCleanup(redis: Pick<Redis, 'unlink'>, options: { observeBatch?: (size: number) => void } = {}) {
  const unlinks = createMicroBatcher<string, void>({
    maxBatch: 1_000,
    run: async (keys) => {
      await redis.unlink(...keys);
      return keys.map(() => undefined);
    },
    observe: options.observeBatch,
  });
  return {
    remove: (key: string): Promise<void> => unlinks.add(key),
  };
}

export type BodyCleanup = ReturnType<typeof createBodyCleanup>;
