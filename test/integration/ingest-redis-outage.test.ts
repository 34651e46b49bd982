import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyKey, readBody } from '../../libs/jobs/body-store.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { usedMemory } from '../../bench/redis-memory.js';
import { findEventJob } from '../helpers/event-jobs.js';
import { startTestIngest } from '../helpers/ingest.js';
import { waitFor } from '../helpers/wait.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { PrivateRedis } from '../helpers/redis-server.js';

const XML = '<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>';

async function timedPost(port: number) {
  const started = Date.now();
  const response = await sendRaw(port, buildPost('/outage', XML), { timeoutMs: 5_000 });
  return { status: response?.status, ms: Date.now() - started };
}

// The 2-second bound is the contract for a device waiting on a dead Redis; the enqueue
// timeout is set well inside it so a busy CI machine cannot turn scheduling noise into a failure.
describe('ingest when Redis fails (private redis-server)', () => {
  let redis: PrivateRedis;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    ingest = await startTestIngest({ REDIS_URL: redis.url, QUEUE_PREFIX: 'outage', INGEST_ENQUEUE_TIMEOUT_MS: '800' });
  });

  afterAll(async () => {
    await ingest?.stop();
    await redis?.stop();
  });

  const readyz = async () => (await fetch(`http://127.0.0.1:${ingest.metricsPort}/readyz`)).status;

  it('answers 200 while Redis is up', async () => {
    expect((await timedPost(ingest.port)).status).toBe(200);
  });

  it('answers 503 within 2 s when Redis hangs (frozen process, connection open)', async () => {
    redis.freeze();
    try {
      const results = await Promise.all(Array.from({ length: 20 }, () => timedPost(ingest.port)));
      for (const result of results) {
        expect(result.status).toBe(503);
        expect(result.ms).toBeLessThan(2_000);
      }
    } finally {
      redis.thaw();
    }
  });

  it('answers 503 within 2 s when Redis is gone, reports not ready, and recovers when it returns', async () => {
    await redis.kill();
    await waitFor(async () => (await readyz()) === 503);
    const down = await timedPost(ingest.port);
    expect(down.status).toBe(503);
    expect(down.ms).toBeLessThan(2_000);

    await redis.launch();
    await waitFor(async () => (await readyz()) === 200);
    expect((await timedPost(ingest.port)).status).toBe(200);
  });
});

describe('ingest started while Redis is down', () => {
  it('serves 503 and reports not ready, then works once Redis appears', async () => {
    const redis = await PrivateRedis.start();
    await redis.kill();
    const ingest = await startTestIngest({ REDIS_URL: redis.url, QUEUE_PREFIX: 'late-redis' });
    try {
      expect((await fetch(`http://127.0.0.1:${ingest.metricsPort}/readyz`)).status).toBe(503);
      const down = await timedPost(ingest.port);
      expect(down.status).toBe(503);
      expect(down.ms).toBeLessThan(2_000);
      await redis.launch();
      await waitFor(async () => (await fetch(`http://127.0.0.1:${ingest.metricsPort}/readyz`)).status === 200);
      expect((await timedPost(ingest.port)).status).toBe(200);
    } finally {
      await ingest.stop();
      await redis.stop();
    }
  });
});

describe('Redis killed (kill -9) with AOF on, as production runs it', () => {
  it('keeps every event the ingest acknowledged', async () => {
    const redis = await PrivateRedis.start({ aof: true });
    const ingest = await startTestIngest({ REDIS_URL: redis.url, QUEUE_PREFIX: 'aof' });
    const acknowledged: string[] = [];
    try {
      const posts = Array.from({ length: 300 }, async (_, n) => {
        const response = await sendRaw(ingest.port, buildPost(`/aof/${n}`, XML), { timeoutMs: 5_000 }).catch(() => null);
        if (response?.status === 200) acknowledged.push(response.headers['x-event-id']!);
      });
      // Kill Redis while requests are in flight: some are acknowledged, the rest get 503.
      await waitFor(async () => acknowledged.length >= 100, 10_000);
      await redis.kill();
      await Promise.all(posts);
      await redis.launch();
      const client = new Redis(redis.url);
      const queue = new Queue(EVENTS_QUEUE, { connection: client, prefix: 'aof' });
      for (const id of acknowledged) {
        const found = await findEventJob(queue, client, 'aof', id);
        expect(found, `acknowledged event ${id}`).toBeDefined();
        expect((await readBody(client, found!.event.body.key, found!.event.body.chunks)).toString()).toBe(XML);
      }
      await queue.close();
      client.disconnect();
      expect(acknowledged.length).toBeGreaterThanOrEqual(100);
    } finally {
      await ingest.stop();
      await redis.stop();
    }
  });
});

describe('Redis full (maxmemory reached, noeviction)', () => {
  it('answers 503 "full", counts it apart from an outage, and takes events again once there is room', async () => {
    const redis = await PrivateRedis.start();
    const ingest = await startTestIngest({ REDIS_URL: redis.url, QUEUE_PREFIX: 'full' });
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory', String((await usedMemory(admin)) + 512 * 1024));
      const body = Buffer.alloc(100_000, 1);
      const statuses: number[] = [];
      for (let n = 0; n < 20; n++) statuses.push((await sendRaw(ingest.port, buildPost('/full', body)))?.status ?? 0);
      expect(statuses).toContain(200);
      expect(statuses.at(-1)).toBe(503);
      // Body and job go in one MULTI: a refused write leaves neither, so every body has its job and back.
      const queue = new Queue(EVENTS_QUEUE, { connection: admin, prefix: 'full' });
      const waiting = await queue.getJobs(['waiting']);
      const bodies = await admin.keys(bodyKey('full', '*'));
      expect(waiting).toHaveLength(statuses.filter((status) => status === 200).length);
      expect(bodies.sort()).toEqual(waiting.map((job) => job.data.body.key).sort());
      const metrics = await (await fetch(`http://127.0.0.1:${ingest.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/hikhub_ingest_rejections_total\{reason="redis_full",service="ingest"\} [1-9]/);
      await admin.config('SET', 'maxmemory', '0');
      expect((await sendRaw(ingest.port, buildPost('/full', body)))?.status).toBe(200);
    } finally {
      admin.disconnect();
      await ingest.stop();
      await redis.stop();
    }
  });
});
