import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_JOB_FIELD, readBody } from '../../libs/jobs/body-store.js';
import { jobDefinition } from '../../libs/jobs/catalog.js';
import { EVENT_BATCH_MAX_EVENTS, EVENTS_QUEUE, eventBatchJobId } from '../../libs/jobs/events.js';
import { rawEventV1Schema } from '../../libs/jobs/raw-event.js';
import { findEventJob } from '../helpers/event-jobs.js';
import { startTestIngest } from '../helpers/ingest.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';

const XML = '<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>';

describe('ingest against the real Redis', () => {
  const { prefix, cleanup } = createTestPrefix('ingest');
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let proxied: Awaited<ReturnType<typeof startTestIngest>>;
  let redis: Redis;
  let queue: Queue;

  beforeAll(async () => {
    ingest = await startTestIngest({ QUEUE_PREFIX: prefix, INGEST_MAX_BODY: '64KiB' });
    proxied = await startTestIngest({ QUEUE_PREFIX: prefix, TRUSTED_PROXIES: '127.0.0.1/32' });
    redis = new Redis(TEST_REDIS_URL);
    queue = new Queue(EVENTS_QUEUE, { connection: redis, prefix });
  });

  afterAll(async () => {
    await ingest?.stop();
    await proxied?.stop();
    await queue?.close();
    redis?.disconnect();
    await cleanup();
  });

  const jobCount = async () => (await queue.getJobCounts('waiting')).waiting ?? 0;

  it('queues a POST on any path with its envelope and exact body bytes', async () => {
    const body = Buffer.concat([Buffer.from(XML), Buffer.from([0, 255, 13, 10])]);
    const response = await sendRaw(ingest.port, buildPost('/hikvision/events/anything?token=abc&x=1', body, { 'Content-Type': 'application/xml; charset="UTF-8"', 'X-Forwarded-For': '9.9.9.9', Authorization: 'secret' }));
    expect(response?.status).toBe(200);
    const [job] = await queue.getJobs(['waiting'], 0, 0);
    const envelope = rawEventV1Schema.parse(job!.data);
    expect(job!.id).toBe(envelope.id);
    expect(envelope.path).toBe('/hikvision/events/anything');
    expect(envelope.query).toBe('token=abc&x=1');
    expect(envelope.method).toBe('POST');
    // Not a trusted proxy: the forwarded header is recorded but not believed.
    expect(envelope.remoteAddress).toBe('127.0.0.1');
    expect(envelope.headers['content-type']).toBe('application/xml; charset="UTF-8"');
    expect(envelope.headers).not.toHaveProperty('authorization');
    expect(JSON.stringify(job!.data)).not.toContain(body.toString('base64'));
    const stored = await readBody(redis, envelope.body.key, envelope.body.chunks);
    expect(stored.equals(body)).toBe(true);
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    await sendRaw(proxied.port, buildPost('/p', XML, { 'X-Forwarded-For': '203.0.113.9, 127.0.0.1' }));
    const [job] = await queue.getJobs(['waiting'], 0, 0);
    expect(job!.data.remoteAddress).toBe('203.0.113.9');
  });

  it('accepts HTTP/1.1 without a Host header, as older cameras send it', async () => {
    const request = `POST /alarm HTTP/1.1\r\nContent-Type: application/xml\r\nContent-Length: ${XML.length}\r\nConnection: close\r\n\r\n${XML}`;
    const response = await sendRaw(ingest.port, request);
    expect(response?.status).toBe(200);
  });

  it('takes an absolute-form request target, as some proxies send it', async () => {
    const request = `POST http://127.0.0.1/abs/path?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${XML.length}\r\nConnection: close\r\n\r\n${XML}`;
    expect((await sendRaw(ingest.port, request))?.status).toBe(200);
    const [job] = await queue.getJobs(['waiting'], 0, 0);
    expect([job!.data.path, job!.data.query]).toEqual(['/abs/path', 'q=1']);
  });

  it('splits a large body into binary chunks and reassembles it byte for byte', async () => {
    const body = Buffer.alloc(60_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
    const response = await sendRaw(ingest.port, buildPost('/big', body, { 'Content-Type': 'multipart/form-data; boundary=x' }));
    expect(response?.status).toBe(200);
    const [job] = await queue.getJobs(['waiting'], 0, 0);
    expect(job!.data.body.chunks).toBeGreaterThan(1);
    expect((await readBody(redis, job!.data.body.key, job!.data.body.chunks)).equals(body)).toBe(true);
  });

  it('writes concurrent events in shared batches: bodies plus one batch job per group, each valid for the contract', async () => {
    const before = await jobCount();
    const bodies = Array.from({ length: 150 }, (_, n) => Buffer.from(`<EventNotificationAlert><activePostCount>${n}</activePostCount></EventNotificationAlert>`));
    const responses = await Promise.all(bodies.map((body, n) => sendRaw(ingest.port, buildPost(`/batch/${n}`, body))));
    expect(responses.map((response) => response?.status)).toEqual(bodies.map(() => 200));
    const carriers = new Map<string, Job>();
    for (const [n, response] of responses.entries()) {
      const found = await findEventJob(queue, redis, prefix, response!.headers['x-event-id']!);
      expect(found, `event ${n}`).toBeDefined();
      const { job, event } = found!;
      carriers.set(job.id!, job);
      // The worker validates with these schemas; the ingest no longer parses per request.
      const envelope = rawEventV1Schema.parse(event);
      expect(envelope.path).toBe(`/batch/${n}`);
      expect((await readBody(redis, envelope.body.key, envelope.body.chunks)).equals(bodies[n]!)).toBe(true);
    }
    // Requests that overlap share a transaction, and its events one job (up to EVENT_BATCH_MAX_EVENTS
    // each); how many overlap depends on timing (event-writer.test.ts batches deterministically).
    // Every acknowledged event is in exactly one job, and every job is one of theirs.
    expect(await jobCount()).toBe(before + carriers.size);
    const carried = [...carriers.values()].flatMap((job) => (job.name === 'event.archive-batch' ? (job.data as { events: { id: string }[] }).events.map((event) => event.id) : [job.id!]));
    expect(carried.sort()).toEqual(responses.map((response) => response!.headers['x-event-id']!).sort());
    for (const job of carriers.values()) {
      const payload = jobDefinition(job.name as 'event.archive' | 'event.archive-batch').schema.parse(job.data);
      if ('events' in payload) {
        expect(job.id).toBe(eventBatchJobId(payload.events[0]!.id));
        expect(payload.events.length).toBeLessThanOrEqual(EVENT_BATCH_MAX_EVENTS);
        for (const event of payload.events) expect(await redis.hget(event.body.key, BODY_JOB_FIELD)).toBe(job.id);
      } else {
        expect(job.id).toBe(payload.id);
      }
    }
  });

  it('refuses a body over the limit with 413 and queues nothing', async () => {
    const before = await jobCount();
    const declared = await sendRaw(ingest.port, buildPost('/big', Buffer.alloc(70_000)));
    expect(declared?.status).toBe(413);
    // Chunked, so the size is only known while streaming.
    const chunked = `POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${(70_000).toString(16)}\r\n${'a'.repeat(70_000)}\r\n0\r\n\r\n`;
    const streamed = await sendRaw(ingest.port, chunked);
    expect(streamed?.status).toBe(413);
    expect(await jobCount()).toBe(before);
  });

  it('queues nothing for a request that ends short of its Content-Length', async () => {
    const before = await jobCount();
    const truncated = `POST /short HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n${'x'.repeat(100)}`;
    const response = await sendRaw(ingest.port, truncated, { timeoutMs: 300 }).catch(() => 'timeout');
    expect(response).toBe('timeout');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await jobCount()).toBe(before);
  });

  it('drops a connection that sends garbage and keeps serving others', async () => {
    const garbage = await sendRaw(ingest.port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect(garbage === null || garbage.status === 400).toBe(true);
    const next = await sendRaw(ingest.port, buildPost('/after-garbage', XML));
    expect(next?.status).toBe(200);
  });

  it('answers health, readiness and metrics on the metrics port', async () => {
    const port = ingest.metricsPort;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/hikhub_ingest_requests_total\{status_class="2xx",service="ingest"\} [1-9]/);
    expect(metrics).toContain('hikhub_ingest_enqueue_duration_seconds_bucket');
    expect(metrics).toMatch(/hikhub_ingest_rejections_total\{reason="too_large",service="ingest"\} [1-9]/);
    expect(metrics).toMatch(/hikhub_ingest_received_bytes_total\{service="ingest"\} [1-9]\d{4,}/);
    expect(metrics).toMatch(/hikhub_ingest_queued_events_total\{service="ingest"\} [1-9]/);
    expect(metrics).toMatch(/hikhub_ingest_inflight_bytes\{service="ingest"\} 0\n/);
    expect(metrics).toMatch(/hikhub_ingest_bodies_in_flight\{service="ingest"\} 0\n/);
  });

  it('keeps the ops endpoints off the device port: GET there is 405, as any other non-POST', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const response = await fetch(`http://127.0.0.1:${ingest.port}${path}`);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(await response.text()).not.toContain('hikhub_');
    }
  });

  it('answers the ops endpoints on the device port too when INGEST_OPS_ON_DEVICE_PORT is on', async () => {
    const both = await startTestIngest({ QUEUE_PREFIX: prefix, INGEST_OPS_ON_DEVICE_PORT: 'true' });
    try {
      expect((await fetch(`http://127.0.0.1:${both.port}/readyz`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${both.port}/metrics`)).text()).toContain('hikhub_ingest_requests_total');
      expect((await fetch(`http://127.0.0.1:${both.port}/other`)).status).toBe(405);
    } finally {
      await both.stop();
    }
  });

  it('answers 405 to other methods on event paths', async () => {
    const response = await fetch(`http://127.0.0.1:${ingest.port}/hikvision/events`, { method: 'PUT', body: 'x' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});
