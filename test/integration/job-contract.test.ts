import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { assertHandlersComplete } from '../../libs/jobs/catalog.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { addJob, createContractWorker, createQueue } from '../../libs/jobs/queues.js';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const validEnvelope = () => {
  const id = uuidV7();
  return {
    v: 1 as const,
    id,
    receivedAt: new Date().toISOString(),
    remoteAddress: '10.0.0.1',
    method: 'POST',
    path: '/e',
    query: '',
    headers: {},
    body: { key: `x:body:${id}`, bytes: 0, chunks: 1 },
  };
};

describe('the job contract', () => {
  const { prefix, cleanup } = createTestPrefix('contract');
  afterAll(cleanup);

  it('refuses to start a worker with a missing or unknown handler', () => {
    expect(() => assertHandlersComplete(EVENTS_QUEUE, {})).toThrow(/missing event\.archive/);
    expect(() => assertHandlersComplete(EVENTS_QUEUE, { 'event.archive': async () => {}, 'event.reprocess-quarantined': async () => {}, 'event.other': async () => {} })).toThrow(/unknown event\.other/);
    expect(() => createContractWorker(EVENTS_QUEUE, {}, { connection: new Redis(TEST_REDIS_URL, { lazyConnect: true }), prefix })).toThrow(/missing/);
  });

  it('validates payloads before adding and applies the default options', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const queue = createQueue(EVENTS_QUEUE, redis, prefix);
    try {
      await expect(addJob(queue, 'event.archive', { ...validEnvelope(), v: 2 } as never)).rejects.toThrow();
      const envelope = validEnvelope();
      const job = await addJob(queue, 'event.archive', envelope, { jobId: envelope.id });
      expect(job.id).toBe(envelope.id);
      expect(job.opts.attempts).toBe(25);
      expect(job.opts.backoff).toEqual({ type: 'full-jitter', delay: 1000 });
      // A batch carries at least two events, each a whole event.archive payload; its options are event.archive's.
      await expect(addJob(queue, 'event.archive-batch', { v: 1, events: [validEnvelope()] })).rejects.toThrow();
      await expect(addJob(queue, 'event.archive-batch', { v: 1, events: [validEnvelope(), { ...validEnvelope(), body: undefined } as never] })).rejects.toThrow();
      const batch = await addJob(queue, 'event.archive-batch', { v: 1, events: [validEnvelope(), validEnvelope()] }, { jobId: 'batch__x' });
      expect([batch.opts.attempts, batch.opts.backoff]).toEqual([job.opts.attempts, job.opts.backoff]);
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });

  it('fails a job whose payload breaks the schema at once, without retries', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const queue = createQueue(EVENTS_QUEUE, redis, prefix);
    const events = new QueueEvents(EVENTS_QUEUE, { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix });
    await events.waitUntilReady();
    let ran = false;
    const worker = createContractWorker(EVENTS_QUEUE, { 'event.archive': async () => void (ran = true), 'event.archive-batch': async () => {}, 'event.reprocess-quarantined': async () => {} }, { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix });
    try {
      // A producer that bypasses addJob (an old build, a hand-made job) cannot get bad data past the worker.
      const job = await queue.add('event.archive', { v: 1, id: 'nope' }, { attempts: 5 });
      await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(/payload does not match event\.archive/);
      const failed = await queue.getJob(job.id!);
      expect(failed?.attemptsMade).toBe(1);
      expect(ran).toBe(false);

      // A payload from a newer build is not failed for good: it waits (backoff) for a newer worker.
      const newer = await queue.add('event.archive', { ...validEnvelope(), v: 2 }, { attempts: 5, backoff: { type: 'full-jitter', delay: 60_000 } });
      await waitFor(async () => (await queue.getJobState(newer.id!)) === 'delayed', 10_000, `job ${newer.id} to be delayed`);
      expect((await queue.getJob(newer.id!))?.failedReason).toMatch(/newer than this worker/);

      // So does a job this build has no name for (a newer build added it to the contract).
      const unknown = await queue.add('event.from-a-newer-build', { v: 1 }, { attempts: 5, backoff: { type: 'full-jitter', delay: 60_000 } });
      await waitFor(async () => (await queue.getJobState(unknown.id!)) === 'delayed', 10_000, `job ${unknown.id} to be delayed`);
      expect((await queue.getJob(unknown.id!))?.failedReason).toMatch(/leaving it for a newer worker/);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
      redis.disconnect();
    }
  });
});
