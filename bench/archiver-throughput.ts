import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { deleteBody, readBody } from '../libs/jobs/body-store.js';
import { EVENTS_QUEUE } from '../libs/jobs/events.js';
import { createQueue } from '../libs/jobs/queues.js';
import type { RawEvent } from '../libs/jobs/raw-event.js';
import { createProducerConnection, createWorkerConnection, waitUntilReady } from '../libs/redis/connection.js';
import { createEventWriter } from '../services/ingest/event-writer.js';
import { createTestDatabaseUrl } from '../test/helpers/database.js';
import { freePort } from '../test/helpers/redis-server.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { benchRequestRecord, FACE_CONTENT_TYPE, faceEventBody, MOTION_CONTENT_TYPE, motionEventBody } from './payloads.js';
import { progress, scrapeMetricSum, type Resources } from './support.js';

export interface ConsumerRun {
  events: number;
  /** Events per second while the consumer was running (archiver: from its first metrics scrape to the last event). */
  eventsPerSecond: number;
  /** From starting the consumer (archiver: spawning the process, so boot + migrations included) to the last event. */
  wallSeconds: number;
}

/** What the queue is filled with: 60 KiB face events with a picture, small XML motion events, or camera heartbeats. */
export type ArchiverPayload = 'face' | 'motion' | 'heartbeat';

/** The "still alive" notice cameras send every ~10 s (videoloss, inactive): counted on the device, never an event row. */
function heartbeatBody(count: number): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n` +
      `<ipAddress>192.168.1.64</ipAddress>\n<portNo>80</portNo>\n<protocol>HTTP</protocol>\n<macAddress>44:19:b6:00:01:${(count % 64).toString(16).padStart(2, '0')}</macAddress>\n` +
      `<channelID>1</channelID>\n<dateTime>2026-11-27T08:02:00+01:00</dateTime>\n<activePostCount>0</activePostCount>\n` +
      `<eventType>videoloss</eventType>\n<eventState>inactive</eventState>\n<eventDescription>videoloss alarm</eventDescription>\n</EventNotificationAlert>\n`,
  );
}

const PAYLOADS: Record<ArchiverPayload, { describe: string; body: (n: number) => Buffer; contentType: string }> = {
  face: { describe: 'face events (multipart JSON + JPEG, distinct serialNo)', body: (n) => faceEventBody(n), contentType: FACE_CONTENT_TYPE },
  motion: { describe: 'motion events (ISAPI XML, no picture, 64 cameras)', body: (n) => motionEventBody(n), contentType: MOTION_CONTENT_TYPE },
  heartbeat: { describe: 'heartbeats (ISAPI XML videoloss/inactive, 64 cameras, ARCHIVE_HEARTBEATS=false)', body: (n) => heartbeatBody(n), contentType: MOTION_CONTENT_TYPE },
};

export interface ArchiverThroughputResult {
  payload: ArchiverPayload;
  describe: string;
  events: number;
  bodyBytes: number;
  concurrency: number;
  fillEventsPerSecond: number;
  floor: ConsumerRun;
  archiver: ConsumerRun & { archivedRows: number; pictureRows: number };
  /** archiver events/s ÷ floor events/s. */
  ratio: number;
}

const QUEUE_PREFIX = 'bench';
const TIMEOUT_MS = 120_000;

/** Concurrent writers filling the queue (one per device of the payloads' 64 cameras). */
const FILL_WRITERS = 64;

/** Events/s of the archiver per payload on this box before the batch jobs (docs/benchmarks.md §2), printed beside today's. */
export const ARCHIVER_BEFORE_BATCH_JOBS: Record<ArchiverPayload, number | undefined> = { face: 405, motion: 629, heartbeat: undefined };

/** N face events (distinct serialNo, so none is a duplicate) onto the events queue through ingest's own writer. */
export async function fillQueue(redisUrl: string, events: number, payload: ArchiverPayload): Promise<number> {
  const redis = createProducerConnection(redisUrl, 'hikhub-bench-fill');
  redis.on('error', () => {});
  const queue = createQueue(EVENTS_QUEUE, redis, QUEUE_PREFIX);
  try {
    if (!(await waitUntilReady(redis, 5_000))) throw new Error('fill: redis not reachable');
    const write = createEventWriter({ redis, queue, prefix: QUEUE_PREFIX, timeoutMs: 10_000 });
    const started = performance.now();
    let next = 0;
    const writer = async () => {
      while (next < events) {
        const body = PAYLOADS[payload].body(++next);
        await write(benchRequestRecord(PAYLOADS[payload].contentType, body), body);
      }
    };
    // As many writers as the ingest has busy devices (64 cameras): concurrent writes share a
    // transaction and its events share event.archive-batch jobs, as under load.
    await Promise.all(Array.from({ length: FILL_WRITERS }, writer));
    return events / ((performance.now() - started) / 1000);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** The queue's floor: a plain BullMQ worker that reads each body's chunks and deletes them, nothing else. */
async function runNoopWorker(resources: Resources, redisUrl: string, events: number, concurrency: number): Promise<ConsumerRun> {
  const connection = createWorkerConnection(redisUrl, 'hikhub-bench-noop-worker');
  const bodies = createWorkerConnection(redisUrl, 'hikhub-bench-noop-bodies');
  connection.on('error', () => {});
  bodies.on('error', () => {});
  let completed = 0;
  let failure: Error | undefined;
  let onDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (onDone = resolve));
  const started = performance.now();
  const worker = new Worker(
    EVENTS_QUEUE,
    // The ingest's jobs as they come: one event, or a batch of them (each body read and deleted, concurrently).
    async (job: Job) => {
      const raws = job.name === 'event.archive-batch' ? (job.data as { events: RawEvent[] }).events : [job.data as RawEvent];
      await Promise.all(
        raws.map(async (raw) => {
          await readBody(bodies, raw.body.key, raw.body.chunks);
          await deleteBody(bodies, raw.body.key);
        }),
      );
      return raws.length;
    },
    { connection, prefix: QUEUE_PREFIX, concurrency },
  );
  const release = resources.defer('no-op worker', async () => {
    await worker.close(true);
    connection.disconnect();
    bodies.disconnect();
  });
  worker.on('error', () => {});
  worker.on('completed', (_job, eventsOfJob: number) => {
    completed += eventsOfJob;
    if (completed === events) onDone();
  });
  worker.on('failed', (_job, error) => {
    failure = error;
    onDone();
  });
  try {
    const timeout = sleep(TIMEOUT_MS).then(() => 'timeout' as const);
    if ((await Promise.race([done, timeout])) === 'timeout') throw new Error(`no-op worker finished ${completed}/${events} events in ${TIMEOUT_MS} ms`);
    if (failure) throw new Error(`no-op worker: a job failed: ${failure.message}`);
    const seconds = (performance.now() - started) / 1000;
    return { events, eventsPerSecond: events / seconds, wallSeconds: seconds };
  } finally {
    await release();
  }
}

async function countRows(databaseUrl: string): Promise<{ events: number; pictures: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const events = await client.query<{ n: string }>('select count(*) as n from events');
    const pictures = await client.query<{ n: string }>('select count(*) as n from event_pictures');
    return { events: Number(events.rows[0]?.n), pictures: Number(pictures.rows[0]?.n) };
  } finally {
    await client.end();
  }
}

/**
 * Scenario 2: drain N pre-queued face events with the real archiver process (Postgres + picture
 * files + daily logs), against the no-op worker draining the same N events. Both on the private
 * Redis, both at the same concurrency.
 */
export async function benchArchiverThroughput(options: {
  resources: Resources;
  redis: Redis;
  redisUrl: string;
  events: number;
  concurrency: number;
  payload: ArchiverPayload;
}): Promise<ArchiverThroughputResult> {
  const { resources, redis, redisUrl, events, concurrency, payload } = options;

  await redis.flushall('SYNC');
  progress(`filling the queue with ${events} ${payload} events for the no-op worker`);
  const fillEventsPerSecond = await fillQueue(redisUrl, events, payload);
  progress(`no-op BullMQ worker (read body + delete), concurrency ${concurrency}`);
  const floor = await runNoopWorker(resources, redisUrl, events, concurrency);
  progress(`  ${Math.round(floor.eventsPerSecond)} events/s`);

  await redis.flushall('SYNC');
  progress(`filling the queue with ${events} ${payload} events for the archiver`);
  await fillQueue(redisUrl, events, payload);

  const database = await createTestDatabaseUrl('bench');
  const dropDatabase = resources.defer(`database ${database.name}`, () => database.drop());
  const dataDir = await mkdtemp(join(tmpdir(), 'hikhub-bench-data-'));
  const removeDataDir = resources.defer(`data dir ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  const metricsPort = await freePort();
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;

  progress(`archiver process, concurrency ${concurrency}, fresh database ${database.name}`);
  const spawned = performance.now();
  const archiver = ServiceProcess.start('services/archiver/main.ts', {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX,
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    ARCHIVER_METRICS_PORT: String(metricsPort),
    ARCHIVER_CONCURRENCY: String(concurrency),
    LOG_LEVEL: 'warn',
  });
  const stopArchiver = resources.defer(`archiver pid ${archiver.pid}`, () => archiver.stop(15_000));
  try {
    let first: { at: number; count: number } | undefined;
    let last = 0;
    for (;;) {
      if (archiver.exited) throw new Error(`archiver exited early:\n${archiver.logs}`);
      const count = await scrapeMetricSum(metricsUrl, 'hikhub_archiver_events_total');
      const at = performance.now();
      if (count !== null) {
        first ??= { at, count };
        last = count;
        if (count >= events) {
          const steadySeconds = (at - first.at) / 1000;
          const wallSeconds = (at - spawned) / 1000;
          // If everything was done before the first scrape, fall back to the wall time.
          const eventsPerSecond = steadySeconds > 0.5 ? (events - first.count) / steadySeconds : events / wallSeconds;
          await stopArchiver();
          const rows = await countRows(database.url);
          const before = ARCHIVER_BEFORE_BATCH_JOBS[payload];
          progress(`  ${Math.round(eventsPerSecond)} events/s (${wallSeconds.toFixed(1)} s from spawn), ${rows.events} rows, ${rows.pictures} pictures${before ? ` (before the batch jobs: ${before}/s)` : ''}`);
          return {
            payload,
            describe: PAYLOADS[payload].describe,
            events,
            bodyBytes: PAYLOADS[payload].body(1).length,
            concurrency,
            fillEventsPerSecond,
            floor,
            archiver: { events, eventsPerSecond, wallSeconds, archivedRows: rows.events, pictureRows: rows.pictures },
            ratio: eventsPerSecond / floor.eventsPerSecond,
          };
        }
      }
      if (at - spawned > TIMEOUT_MS) throw new Error(`archiver finished ${last}/${events} events in ${TIMEOUT_MS} ms:\n${archiver.logs.slice(-4_000)}`);
      // A scrape costs the archiver a queue count, a Redis INFO and a Postgres query: not too often.
      await sleep(500);
    }
  } finally {
    await stopArchiver();
    await redis.flushall('SYNC').catch(() => {});
    await removeDataDir();
    await dropDatabase();
  }
}
