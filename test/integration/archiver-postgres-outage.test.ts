import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../libs/db/database.js';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { waitFor } from '../helpers/wait.js';
import { startTestIngest } from '../helpers/ingest.js';
import { PrivatePostgres } from '../helpers/postgres-server.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';

const event = (n: number) =>
  `<EventNotificationAlert><macAddress>02:00:00:00:01:${String(n).padStart(2, '0')}</macAddress><eventType>IO</eventType><eventState>active</eventState><dateTime>2025-01-01T00:00:0${n}Z</dateTime></EventNotificationAlert>`;

describe('archiver while Postgres is down (private cluster)', () => {
  let postgres: PrivatePostgres;
  let world: Awaited<ReturnType<typeof createTestWorld>>;
  let archiver: Awaited<ReturnType<typeof startTestArchiver>>;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;

  beforeAll(async () => {
    postgres = await PrivatePostgres.start();
    world = await createTestWorld('pg-outage');
    archiver = await startTestArchiver({ ...world.env, DATABASE_URL: postgres.urlFor('hikhub') });
    ingest = await startTestIngest({ QUEUE_PREFIX: world.prefix });
  });

  afterAll(async () => {
    await ingest?.stop();
    await archiver?.stop();
    await postgres?.destroy();
    await world?.teardown();
  });

  it('keeps taking events, retries with backoff, and archives each exactly once when Postgres returns', async () => {
    const { queue } = world;
    const send = async (n: number) => expect((await sendRaw(ingest.port, buildPost('/io', event(n), { 'Content-Type': 'text/xml' })))?.status).toBe(200);
    await send(1);
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 1, 10_000, 'first event');

    await postgres.stop();
    for (const n of [2, 3, 4]) await send(n);
    // Each job has failed at least once and waits in backoff, none was completed without a commit.
    await waitFor(async () => {
      const jobs = await queue.getJobs(['delayed', 'waiting', 'active']);
      return jobs.length === 3 && jobs.every((job) => job.attemptsMade >= 1);
    }, 15_000, 'jobs to be retrying');
    expect((await queue.getJobCounts('completed')).completed).toBe(1);
    expect((await fetch(`http://127.0.0.1:${archiver.metricsPort}/readyz`)).status).toBe(503);

    await postgres.launch();
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 4, 30_000, 'backlog to drain');
    const db = createDb(postgres.urlFor('hikhub'), 1);
    const rows = await db.selectFrom('events').select(['mac_address']).orderBy('mac_address').execute();
    await db.destroy();
    expect(rows.map((row) => row.mac_address)).toEqual(['02:00:00:00:01:01', '02:00:00:00:01:02', '02:00:00:00:01:03', '02:00:00:00:01:04']);
    const metrics = await (await fetch(`http://127.0.0.1:${archiver.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/hikhub_archiver_job_failures_total\{final="false",service="archiver"\} [1-9]/);
  });
});
