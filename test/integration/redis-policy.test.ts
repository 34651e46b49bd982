import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEvictionPolicy } from '../../libs/redis/connection.js';
import { PrivateRedis } from '../helpers/redis-server.js';

describe('Redis eviction policy guard', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await PrivateRedis.start();
  });
  afterAll(() => server?.stop());

  it('is quiet with noeviction and says loudly when keys may be evicted', async () => {
    const redis = new Redis(server.url);
    const errors: object[] = [];
    const log = { error: (obj: object) => errors.push(obj) };
    expect(await checkEvictionPolicy(redis, log)).toBe('noeviction');
    expect(errors).toHaveLength(0);
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    expect(await checkEvictionPolicy(redis, log)).toBe('allkeys-lru');
    expect(errors).toEqual([{ policy: 'allkeys-lru' }]);
    redis.disconnect();
  });
});
