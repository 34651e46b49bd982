import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import { BODY_JOB_FIELD, bodyKey, writeBody } from '../../libs/jobs/body-store.js';
import { eventBatchJobId } from '../../libs/jobs/events.js';
import { addJob } from '../../libs/jobs/queues.js';
import { RAW_EVENT_VERSION, type RawEvent } from '../../libs/jobs/raw-event.js';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { waitFor } from '../helpers/wait.js';

const VMD = (mac: string, count: number) =>
  `<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><ipAddress>10.0.0.7</ipAddress><macAddress>${mac}</macAddress><channelID>1</channelID><dateTime>2025-04-06T14:16:04+02:00</dateTime><activePostCount>${count}</activePostCount><eventType>VMD</eventType><eventState>active</eventState></EventNotificationAlert>`;
const HEARTBEAT = `<EventNotificationAlert><macAddress>AA:BB:CC:00:00:19</macAddress><dateTime>2025-04-06T14:16:04+02:00</dateTime><eventType>videoloss</eventType><eventState>inactive</eventState><activePostCount>0</activePostCount></EventNotificationAlert>`;
const NOT_AN_EVENT = '<ResponseStatus><statusCode>1</statusCode></ResponseStatus>';
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2_000, 0x5a), Buffer.from([0xff, 0xd9])]);
/** An access event with a picture: the one kind that needs DATA_DIR for a new file (log files stay open). */
const FACE = (serialNo: number) =>
  Buffer.concat([
    Buffer.from(
      `--B\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({
        macAddress: '02:00:00:00:0b:04',
        dateTime: '2026-01-05T08:02:00+01:00',
        eventType: 'AccessControllerEvent',
        eventState: 'active',
        AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: '7', name: 'Grace', serialNo },
      })}\r\n--B\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    JPEG,
    Buffer.from('\r\n--B--\r\n'),
  ]);

/**
 * The archiver's handling of `event.archive-batch` jobs (services/archiver/archive-batch.ts), one
 * rule per test, against the real archiver, Redis and Postgres: batch jobs are written here as the
 * ingest writes them (bodies naming their batch job, then the job), so each case is exact.
 */
describe('archiver: event batches', async () => {
  const world = await createTestWorld('archiver_batch');
  const { db, redis, queue, prefix } = world;
  // DATA_DIR is a folder of its own so the outage case can take it away (see archiver-disk-outage.test.ts).
  const dataDir = join(world.dataDir, 'volume');
  let archiver: Awaited<ReturnType<typeof startTestArchiver>>;
  const metrics = async () => (await fetch(`http://127.0.0.1:${archiver.metricsPort}/metrics`)).text();
  /** The sum of every series the pattern matches (its first group is the value). */
  const metric = async (series: RegExp) => [...(await metrics()).matchAll(new RegExp(series.source, 'g'))].reduce((sum, match) => sum + Number(match[1]), 0);

  beforeAll(async () => {
    await mkdir(dataDir);
    archiver = await startTestArchiver({ ...world.env, DATA_DIR: dataDir, ARCHIVER_CONCURRENCY: '4' });
  });

  afterAll(async () => {
    await archiver?.stop();
    await world.teardown();
  });

  /** Stores the bodies (null: a body that never reached Redis) and adds one batch job for them, as the ingest does. */
  const enqueueBatch = async (entries: (string | { body: Buffer; contentType: string } | null)[], options: { delay?: number } = {}) => {
    const events: RawEvent[] = [];
    const bodies = entries.map((entry) => (typeof entry === 'object' && entry !== null ? entry.body : entry));
    for (const [index, body] of bodies.entries()) {
      const entry = entries[index];
      const contentType = typeof entry === 'object' && entry !== null ? entry.contentType : 'application/xml';
      const id = uuidV7();
      const key = bodyKey(prefix, id);
      const chunks = body === null ? 1 : await writeBody(redis, key, Buffer.from(body));
      events.push({
        v: RAW_EVENT_VERSION,
        id,
        receivedAt: new Date().toISOString(),
        remoteAddress: '10.0.0.7',
        method: 'POST',
        path: '/event/notification',
        query: '',
        headers: { 'content-type': contentType },
        body: { key, bytes: body === null ? 0 : Buffer.byteLength(body), chunks },
      });
    }
    const jobId = eventBatchJobId(events[0]!.id);
    for (const [index, event] of events.entries()) if (bodies[index] !== null) await redis.hset(event.body.key, BODY_JOB_FIELD, jobId);
    await addJob(queue, 'event.archive-batch', { v: 1, events }, { jobId, delay: options.delay });
    return { jobId, ids: events.map((event) => event.id) };
  };
  /** The job once in `state`, read after it got there (a job read before has no return value yet). */
  const reached = (jobId: string, state: 'completed' | 'failed') =>
    waitFor(async () => ((await queue.getJobState(jobId)) === state ? queue.getJob(jobId) : undefined), 20_000, `job ${jobId} to be ${state}`);
  const finished = (jobId: string) => reached(jobId, 'completed');
  const rowIds = async (ids: string[]) => (await db.selectFrom('events').select('id').where('id', 'in', ids).execute()).map((row) => row.id).sort();

  it('archives every event of a batch and completes it with the count of each outcome', async () => {
    const { jobId, ids } = await enqueueBatch([VMD('02:00:00:00:0b:01', 1), VMD('02:00:00:00:0b:01', 2), HEARTBEAT, NOT_AN_EVENT]);
    const job = await finished(jobId);
    expect(job.returnvalue).toEqual({ outcomes: { archived: 2, heartbeat: 1, quarantined: 1 }, splitOut: 0, handledBefore: 0 });
    expect(job.attemptsMade).toBe(1);
    expect(await rowIds(ids)).toEqual([ids[0], ids[1]].sort());
    expect((await db.selectFrom('quarantined_events').select('reason_code').where('id', '=', ids[3]!).executeTakeFirst())?.reason_code).toBe('not_an_event');
    for (const id of ids) expect(await redis.exists(bodyKey(prefix, id))).toBe(0);
    // Events are counted one by one, as single jobs are.
    expect(await metric(/hikhub_archiver_events_total\{outcome="heartbeat",family="[^"]+",service="archiver"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  });

  it('splits an event that fails on its own into a single job, which fails alone while the others are archived', async () => {
    const before = await metric(/hikhub_archiver_batch_split_events_total\{reason="failed",service="archiver"\} (\d+)/);
    const { jobId, ids } = await enqueueBatch([VMD('02:00:00:00:0b:02', 1), null, VMD('02:00:00:00:0b:02', 2)]);
    const job = await finished(jobId);
    expect(job.returnvalue).toEqual({ outcomes: { archived: 2 }, splitOut: 1, handledBefore: 0 });
    expect(await rowIds(ids)).toEqual([ids[0], ids[2]].sort());
    // The split-out event lives as an event.archive job of its own (job id = event id): its body is missing, so it fails for good.
    const single = await reached(ids[1]!, 'failed');
    expect(single.name).toBe('event.archive');
    expect(single.data).toEqual((job.data as { events: RawEvent[] }).events[1]);
    expect(single.failedReason).toMatch(/missing from Redis/);
    expect(await metric(/hikhub_archiver_batch_split_events_total\{reason="failed",service="archiver"\} (\d+)/)).toBe(before + 1);
  });

  it('does not run a stalled batch again as a batch: each event not yet finished goes on as a single job', async () => {
    const { jobId, ids } = await enqueueBatch([VMD('02:00:00:00:0b:03', 1), VMD('02:00:00:00:0b:03', 2), VMD('02:00:00:00:0b:03', 3), HEARTBEAT], { delay: 1_000 });
    // What BullMQ's stall check does to a job whose archiver died (moveStalledJobsToWait: HINCRBY stc), before the job runs again;
    // the dead archiver had counted the heartbeat (its body is removed only then, and it leaves no row).
    await redis.hincrby(`${prefix}:events:${jobId}`, 'stc', 1);
    await redis.unlink(bodyKey(prefix, ids[3]!));
    const job = await finished(jobId);
    expect(job.returnvalue).toEqual({ outcomes: {}, splitOut: 3, handledBefore: 1 });
    expect(await queue.getJob(ids[3]!)).toBeUndefined();
    ids.pop();
    for (const id of ids) {
      const single = await finished(id);
      expect(single.returnvalue).toEqual({ outcome: 'archived' });
      expect(single.stalledCounter).toBe(0);
    }
    expect(await rowIds(ids)).toEqual([...ids].sort());
    expect(await metric(/hikhub_archiver_batch_split_events_total\{reason="stalled",service="archiver"\} (\d+)/)).toBe(3);
    expect(await db.selectFrom('quarantined_events').select('id').where('id', 'in', ids).execute()).toEqual([]);
  });

  it('hands a batch back with no attempt spent while DATA_DIR is away, and archives every event once it is back', async () => {
    await rename(dataDir, `${dataDir}.away`);
    await writeFile(dataDir, 'not a directory');
    try {
      // A heartbeat needs no disk: the first run counts it (body gone, no row); the re-run must not take that for a loss.
      const face = (serialNo: number) => ({ body: FACE(serialNo), contentType: 'multipart/form-data; boundary=B' });
      const { jobId, ids } = await enqueueBatch([face(1), face(2), face(3), HEARTBEAT]);
      const heartbeat = ids.pop()!;
      await waitFor(async () => (await metric(/hikhub_archiver_jobs_held_back_total\{dependency="pictures",service="archiver"\} (\d+)/)) >= 2, 15_000, 'the batch held back');
      const held = await queue.getJob(jobId);
      expect(held?.attemptsMade).toBe(0);
      expect(await held?.getState()).not.toBe('failed');
      await rm(dataDir);
      await rename(`${dataDir}.away`, dataDir);
      const job = await finished(jobId);
      expect(job.attemptsMade).toBe(1);
      // Events done before the outage was seen (rows in, log lines pending) are finished on the re-run, none twice.
      const outcomes = (job.returnvalue as { outcomes: Record<string, number> }).outcomes;
      expect(outcomes).toEqual({ archived: 3 });
      expect((job.returnvalue as { handledBefore: number }).handledBefore).toBe(1);
      expect(await queue.getJob(heartbeat)).toBeUndefined();
      expect(await redis.exists(bodyKey(prefix, heartbeat))).toBe(0);
      expect(await rowIds(ids)).toEqual([...ids].sort());
      for (const id of ids) expect(await redis.exists(bodyKey(prefix, id))).toBe(0);
      expect((await queue.getJobCounts('failed')).failed).toBe(1); // the split-out job of the earlier test
    } finally {
      await rm(dataDir, { force: true }).catch(() => {});
      await rename(`${dataDir}.away`, dataDir).catch(() => {});
    }
  });
});
