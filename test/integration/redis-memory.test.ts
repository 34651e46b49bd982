import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureRedisBytesPerEvent } from '../../bench/redis-memory.js';
import { PrivateRedis } from '../helpers/redis-server.js';

/**
 * The budget for a queued event: at most 1.1 × body size + 2 KiB of Redis memory.
 * Measured on a private redis-server (nothing else writing) through the ingest's own writer.
 * A size bound, not a timing one: it holds on any machine.
 */
describe('Redis memory per queued event', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(() => redis?.stop());

  for (const bodyBytes of [1_500, 33_000, 40_961, 61_440, 505_636]) {
    it(`stays within 1.1 × body + 2 KiB for a ${bodyBytes}-byte body`, async () => {
      const perEvent = await measureRedisBytesPerEvent(redis.url, bodyBytes, bodyBytes > 100_000 ? 40 : 200);
      expect(perEvent).toBeLessThanOrEqual(1.1 * bodyBytes + 2048);
    });
  }
});
