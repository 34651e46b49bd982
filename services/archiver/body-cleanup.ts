import type { Redis } from 'ioredis';
import { BatchItemFailure, createMicroBatcher } from './micro-batcher.js';

/**
 * Bodies leave Redis once their event is safe, many at a time: the UNLINKs of concurrent jobs go
 * out as one pipeline (one round trip, one Redis wake-up), each key its own command so that a
 * Redis Cluster can route them.
 */
export function createBodyCleanup(redis: Redis, options: { observeBatch?: (size: number) => void } = {}) {
  const unlinks = createMicroBatcher<string, void>({
    maxBatch: 1_000,
    run: async (keys) => {
      const replies = (await redis.pipeline(keys.map((key) => ['unlink', key])).exec()) ?? [];
      return keys.map((_, index) => {
        const error = replies[index]?.[0];
        return error ? new BatchItemFailure(error) : undefined;
      });
    },
    observe: options.observeBatch,
  });
  return {
    remove: (key: string): Promise<void> => unlinks.add(key),
  };
}

export type BodyCleanup = ReturnType<typeof createBodyCleanup>;
