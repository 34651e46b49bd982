import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import { BODY_JOB_FIELD, readBody } from '../../libs/jobs/body-store.js';
import { jobDefinition } from '../../libs/jobs/catalog.js';
import { EVENT_BATCH_MAX_EVENTS, EVENTS_QUEUE, eventBatchJobId } from '../../libs/jobs/events.js';
import { createEventWriter } from '../../services/ingest/event-writer.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';

/** The ingest's durable write (services/ingest/event-writer.ts) fed in one tick, as concurrent requests would feed it. */
describe('event writer: one job per event or per batch', () => {
  const { prefix, cleanup } = createTestPrefix('event_writer');
  const redis = new Redis(TEST_REDIS_URL);
  const queue = new Queue(EVENTS_QUEUE, { connection: redis, prefix });
  const write = createEventWriter({ redis, queue, prefix, timeoutMs: 5_000 });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await cleanup();
  });

  const record = (id: string, n: number) => ({ id, receivedAt: new Date().toISOString(), remoteAddress: '10.0.0.1', method: 'POST', path: `/w/${n}`, query: '', headers: { 'content-type': 'application/xml' } });
  const writeAll = (count: number) => {
    const ids = Array.from({ length: count }, () => uuidV7());
    const bodies = ids.map((_, n) => Buffer.from(`<EventNotificationAlert><activePostCount>${n}</activePostCount></EventNotificationAlert>`));
    return { ids, bodies, written: Promise.all(ids.map((id, n) => write(record(id, n), bodies[n]!))) };
  };

  it('writes a lone event as an event.archive job with the event id and no job field in its body', async () => {
    const { ids, written } = writeAll(1);
    await written;
    const job = await queue.getJob(ids[0]!);
    expect(job?.name).toBe('event.archive');
    const payload = jobDefinition('event.archive').schema.parse(job!.data);
    expect(await redis.hget(payload.body.key, BODY_JOB_FIELD)).toBeNull();
  });

  it('cuts events written together into batch jobs of at most EVENT_BATCH_MAX_EVENTS, a lone rest as a single job', async () => {
    const count = 2 * EVENT_BATCH_MAX_EVENTS + 1;
    const before = (await queue.getJobCounts('waiting')).waiting ?? 0;
    const { ids, bodies, written } = writeAll(count);
    await written;
    expect((await queue.getJobCounts('waiting')).waiting).toBe(before + 3);
    for (const start of [0, EVENT_BATCH_MAX_EVENTS]) {
      const job = await queue.getJob(eventBatchJobId(ids[start]!));
      expect(job?.name).toBe('event.archive-batch');
      const payload = jobDefinition('event.archive-batch').schema.parse(job!.data);
      expect(payload.events.map((event) => event.id)).toEqual(ids.slice(start, start + EVENT_BATCH_MAX_EVENTS));
      expect(job!.opts.attempts).toBe(jobDefinition('event.archive-batch').options.attempts);
      for (const [index, event] of payload.events.entries()) {
        expect((await readBody(redis, event.body.key, event.body.chunks)).equals(bodies[start + index]!)).toBe(true);
        expect(await redis.hget(event.body.key, BODY_JOB_FIELD)).toBe(job!.id);
      }
    }
    expect((await queue.getJob(ids[count - 1]!))?.name).toBe('event.archive');
  });
});
