import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPathToken, EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { RedisRateLimiter } from '../../libs/edge-auth/rate-limiter.js';
import { createProducerConnection } from '../../libs/redis/connection.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { freePort } from '../helpers/redis-server.js';
import { ServiceProcess } from '../helpers/service-process.js';

const XML = '<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>';

describe('rate limits shared through Redis', () => {
  const { prefix, cleanup } = createTestPrefix('edge-rate');
  const replicas: { service: ServiceProcess; port: number }[] = [];
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
    // Two ingest processes, one Redis: one request per 100 s sustained (so the test does not depend on its speed), a burst of 10 per address; 3 per device.
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const metricsPort = await freePort();
      const service = ServiceProcess.start('services/ingest/main.ts', {
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        INGEST_HOST: '127.0.0.1',
        INGEST_PORT: String(port),
        INGEST_METRICS_PORT: String(metricsPort),
        INGEST_AUTH: 'token',
        INGEST_RATE_PER_ADDRESS: '0.01',
        INGEST_BURST_PER_ADDRESS: '10',
        INGEST_RATE_PER_DEVICE: '0.01',
        INGEST_BURST_PER_DEVICE: '3',
        LOG_LEVEL: 'warn',
      });
      replicas.push({ service, port });
      await service.waitReady(`http://127.0.0.1:${metricsPort}/readyz`);
    }
  }, 60_000);

  afterAll(async () => {
    for (const replica of replicas) await replica.service.stop();
    redis?.disconnect();
    await cleanup();
  });

  it('holds a per-device limit across two ingest processes, then a per-address one, with Retry-After', async () => {
    const store = new EdgeCredentialStore(redis, prefix, { cacheMs: 0 });
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const door = createPathToken();
    await store.setPathToken(door, 'door-1');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await sendRaw((i % 2 ? b : a).port, buildPost(`/events/${door}`, XML)))!.status);
    // A burst of 3 for the device, whichever replica each request reached.
    expect(statuses).toEqual([200, 200, 200, 429]);

    // The address has used 4 of its 10 (the refused one counted too); 6 more pass, alternating replicas, then 429.
    const others: number[] = [];
    for (let i = 0; i < 7; i++) {
      const token = createPathToken();
      await store.setPathToken(token, `camera-${i}`);
      const response = await sendRaw((i % 2 ? a : b).port, buildPost(`/events/${token}`, XML));
      others.push(response!.status);
      if (response!.status === 429) expect(Number(response!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(others).toEqual([200, 200, 200, 200, 200, 200, 429]);
    for (const replica of replicas) expect(replica.service.exited).toBe(false);
  });

  it('lets requests through when Redis does not answer, and says so', async () => {
    // A connection to nothing: it fails at once (no offline queue), as during a Redis outage.
    const dead = createProducerConnection(`redis://127.0.0.1:${await freePort()}`, 'edge-rate-dead');
    try {
      const limiter = new RedisRateLimiter(dead, 100);
      const decision = await limiter.take([{ key: `${prefix}:x`, ratePerSecond: 1, burst: 1 }]);
      expect(decision.allowed).toBe('unknown');
    } finally {
      dead.disconnect();
    }
  });

  it('counts a request against every limit or none', async () => {
    const limiter = new RedisRateLimiter(redis);
    const address = { key: `${prefix}:edge:rate:test:address`, ratePerSecond: 0.001, burst: 5 };
    const device = { key: `${prefix}:edge:rate:test:device`, ratePerSecond: 0.001, burst: 2 };
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push((await limiter.take([address, device])).allowed);
    expect(decisions).toEqual([true, true, false, false]);
    // The refused two did not use the address's burst: 3 of its 5 remain.
    const alone = [];
    for (let i = 0; i < 4; i++) alone.push((await limiter.take([address])).allowed);
    expect(alone).toEqual([true, true, true, false]);
  });
});
