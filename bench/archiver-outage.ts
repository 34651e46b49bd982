import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { EVENTS_QUEUE } from '../libs/jobs/events.js';
import { createQueue } from '../libs/jobs/queues.js';
import { createProducerConnection } from '../libs/redis/connection.js';
import { PrivatePostgres } from '../test/helpers/postgres-server.js';
import { freePort } from '../test/helpers/redis-server.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { fillQueue, type ArchiverPayload } from './archiver-throughput.js';
import { progress, scrapeMetricSum, type Resources } from './support.js';

export interface ArchiverOutageResult {
  payload: ArchiverPayload;
  events: number;
  concurrency: number;
  outageSeconds: number;
  /** Postgres up all along: the same N events pre-queued, from the first row committed to the last. */
  floor: { drainSeconds: number; eventsPerSecond: number };
  /** N events queued while Postgres was down; times from Postgres accepting connections again. */
  outage: {
    /** From Postgres accepting connections to the archiver's probe closing its circuit. */
    circuitClosedMs: number;
    drainStartMs: number;
    drainSeconds: number;
    eventsPerSecond: number;
    /** Archive attempts that threw (hikhub_archiver_job_failures_total): an outage should spend none. */
    attemptsSpent: number;
    failedJobs: number;
    heldBack: number;
    rows: number;
  };
  /** Outage drain (from Postgres's return) ÷ floor drain. */
  ratio: number;
}

const QUEUE_PREFIX = 'bench'; // fillQueue's prefix
const TIMEOUT_MS = 180_000;
const POLL_MS = 25;

async function countEvents(client: pg.Client): Promise<number> {
  const result = await client.query<{ n: string }>('select count(*) as n from events');
  return Number(result.rows[0]?.n);
}

/**
 * Poll the events table until it holds `events` rows: when the first row appeared and when the last
 * did. Until the archiver has created and migrated its database (or while Postgres is starting) the
 * poll just tries again.
 */
async function watchDrain(databaseUrl: string, events: number, archiver: ServiceProcess): Promise<{ firstAt: number; lastAt: number }> {
  const started = performance.now();
  let client: pg.Client | undefined;
  let firstAt: number | undefined;
  try {
    for (;;) {
      if (archiver.exited) throw new Error(`archiver exited early:\n${archiver.logs.slice(-4_000)}`);
      let count = 0;
      try {
        if (!client) {
          client = new pg.Client({ connectionString: databaseUrl });
          client.on('error', () => {});
          await client.connect();
        }
        count = await countEvents(client);
      } catch {
        await client?.end().catch(() => {});
        client = undefined;
      }
      const at = performance.now();
      if (count > 0) firstAt ??= at;
      if (count >= events) return { firstAt: firstAt!, lastAt: at };
      if (at - started > TIMEOUT_MS) throw new Error(`archiver stored ${count}/${events} events in ${TIMEOUT_MS} ms:\n${archiver.logs.slice(-4_000)}`);
      await sleep(POLL_MS);
    }
  } finally {
    await client?.end().catch(() => {});
  }
}

function spawnArchiver(resources: Resources, env: { redisUrl: string; databaseUrl: string; dataDir: string; metricsPort: number; concurrency: number }) {
  const archiver = ServiceProcess.start('services/archiver/main.ts', {
    REDIS_URL: env.redisUrl,
    QUEUE_PREFIX,
    DATABASE_URL: env.databaseUrl,
    DATA_DIR: env.dataDir,
    ARCHIVER_METRICS_PORT: String(env.metricsPort),
    ARCHIVER_CONCURRENCY: String(env.concurrency),
    LOG_LEVEL: 'warn',
  });
  const stop = resources.defer(`archiver pid ${archiver.pid}`, () => archiver.stop(15_000));
  return { archiver, stop };
}

/**
 * Scenario 7: how soon the archive catches up after a Postgres outage. A private Postgres; N
 * events queued while it is stopped (the archiver holds them, no attempt spent); after
 * `outageSeconds` it starts again and the time to the first and the last row is taken. Floor:
 * the same N events pre-queued with Postgres up, first row to last, same archiver, same run.
 */
export async function benchArchiverOutage(options: {
  resources: Resources;
  redis: Redis;
  redisUrl: string;
  events: number;
  concurrency: number;
  outageSeconds: number;
  payload?: ArchiverPayload;
}): Promise<ArchiverOutageResult> {
  const { resources, redis, redisUrl, events, concurrency, outageSeconds } = options;
  const payload = options.payload ?? 'motion';

  progress('starting a private Postgres for the outage scenario');
  const postgres = await PrivatePostgres.start();
  const destroyPostgres = resources.defer(`private postgres on port ${postgres.port}`, () => postgres.destroy());
  const dataDir = await mkdtemp(join(tmpdir(), 'hikhub-bench-outage-'));
  const removeDataDir = resources.defer(`data dir ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  try {
    // Floor: Postgres up, N events waiting when the archiver starts.
    await redis.flushall('SYNC');
    progress(`outage floor: ${events} ${payload} events pre-queued, Postgres up`);
    await fillQueue(redisUrl, events, payload);
    const floorDb = postgres.urlFor('hikhub_outage_floor');
    const floorRun = spawnArchiver(resources, { redisUrl, databaseUrl: floorDb, dataDir: join(dataDir, 'floor'), metricsPort: await freePort(), concurrency });
    const floor = await watchDrain(floorDb, events, floorRun.archiver);
    await floorRun.stop();
    const floorSeconds = (floor.lastAt - floor.firstAt) / 1000;
    progress(`  ${Math.round(events / floorSeconds)} events/s`);

    // Outage: the archiver running, Postgres stopped, N events arrive, Postgres back after outageSeconds.
    await redis.flushall('SYNC');
    const outageDb = postgres.urlFor('hikhub_outage');
    const metricsPort = await freePort();
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const run = spawnArchiver(resources, { redisUrl, databaseUrl: outageDb, dataDir: join(dataDir, 'outage'), metricsPort, concurrency });
    await run.archiver.waitReady(`http://127.0.0.1:${metricsPort}/readyz`, 60_000);
    progress(`outage: Postgres stopped for ${outageSeconds} s while ${events} events arrive`);
    const stoppedAt = performance.now();
    await postgres.stop();
    await fillQueue(redisUrl, events, payload);
    await sleep(Math.max(0, outageSeconds * 1000 - (performance.now() - stoppedAt)));
    const heldDuring = await scrapeMetricSum(metricsUrl, 'hikhub_archiver_circuit_open');
    await postgres.launch();
    const back = performance.now();
    const [circuitClosedAt, drained] = await Promise.all([watchCircuitClosed(metricsUrl), watchDrain(outageDb, events, run.archiver)]);
    const attemptsSpent = (await scrapeMetricSum(metricsUrl, 'hikhub_archiver_job_failures_total')) ?? NaN;
    const heldBack = (await scrapeMetricSum(metricsUrl, 'hikhub_archiver_jobs_held_back_total')) ?? NaN;
    await run.stop();
    const failedJobs = await countFailed(redisUrl);
    const client = new pg.Client({ connectionString: outageDb });
    await client.connect();
    const rows = await countEvents(client).finally(() => client.end());
    const drainSeconds = (drained.lastAt - back) / 1000;
    progress(`  circuit open during the outage: ${heldDuring}; closed ${Math.round(circuitClosedAt - back)} ms, first row ${Math.round(drained.firstAt - back)} ms after Postgres was back; drained in ${drainSeconds.toFixed(1)} s`);
    return {
      payload,
      events,
      concurrency,
      outageSeconds,
      floor: { drainSeconds: floorSeconds, eventsPerSecond: events / floorSeconds },
      outage: { circuitClosedMs: circuitClosedAt - back, drainStartMs: drained.firstAt - back, drainSeconds, eventsPerSecond: events / drainSeconds, attemptsSpent, failedJobs, heldBack, rows },
      ratio: drainSeconds / floorSeconds,
    };
  } finally {
    await redis.flushall('SYNC').catch(() => {});
    await removeDataDir();
    await destroyPostgres();
  }
}

/** When the archiver's circuit reads closed again (polled on its metrics port). */
async function watchCircuitClosed(metricsUrl: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    if ((await scrapeMetricSum(metricsUrl, 'hikhub_archiver_circuit_open')) === 0) return performance.now();
    if (performance.now() - started > TIMEOUT_MS) throw new Error('the archiver never closed its circuit');
    await sleep(POLL_MS);
  }
}

async function countFailed(redisUrl: string): Promise<number> {
  const connection = createProducerConnection(redisUrl, 'hikhub-bench-outage-count');
  connection.on('error', () => {});
  const queue = createQueue(EVENTS_QUEUE, connection, QUEUE_PREFIX);
  try {
    return (await queue.getJobCounts('failed')).failed ?? 0;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
