import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../libs/db/database.js';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { waitFor } from '../helpers/wait.js';
import { startTestIngest } from '../helpers/ingest.js';
import { PrivatePostgres } from '../helpers/postgres-server.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';

/** The case: Postgres away for two minutes while devices keep posting. */
const OUTAGE_MS = 120_000;
/** One event every this often during the outage: about 480 held jobs, well under the completed-job retention. */
const SEND_EVERY_MS = 250;

const hex = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
const macOf = (n: number) => `02:00:00:00:${hex(n >> 8)}:${hex(n)}`;
const event = (n: number) =>
  `<EventNotificationAlert><macAddress>${macOf(n)}</macAddress><eventType>IO</eventType><eventState>active</eventState><dateTime>${new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString().replace('.000', '')}</dateTime></EventNotificationAlert>`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('archiver while Postgres is down (private cluster)', () => {
  let postgres: PrivatePostgres;
  let world: Awaited<ReturnType<typeof createTestWorld>>;
  let archiver: Awaited<ReturnType<typeof startTestArchiver>>;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  const metric = async (line: RegExp) => line.exec(await (await fetch(`http://127.0.0.1:${archiver.metricsPort}/metrics`)).text())?.[1];

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

  it('holds every job for a two-minute outage without spending an attempt, then archives each exactly once', { timeout: OUTAGE_MS + 120_000 }, async () => {
    const { queue } = world;
    const send = async (n: number) => expect((await sendRaw(ingest.port, buildPost('/io', event(n), { 'Content-Type': 'text/xml' })))?.status).toBe(200);
    for (let n = 1; n <= 5; n += 1) await send(n);
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 5, 15_000, 'the first events');

    await postgres.stop();
    let sent = 5;
    const outageStarted = Date.now();
    while (Date.now() - outageStarted < OUTAGE_MS) {
      sent += 1;
      await send(sent); // the ingest answers 200 throughout: the event is in Redis
      await sleep(SEND_EVERY_MS);
    }

    // Everything sent during the outage waits, none in backoff (delayed), none failed, no attempt spent.
    const counts = await queue.getJobCounts('completed', 'failed', 'delayed', 'wait', 'active', 'prioritized');
    expect(counts).toMatchObject({ completed: 5, failed: 0, delayed: 0 });
    expect(counts.wait! + counts.active! + counts.prioritized!).toBe(sent - 5);
    const held = await queue.getJobs(['wait', 'active'], 0, -1);
    expect(held.length).toBe(sent - 5);
    expect(held.filter((job) => job.attemptsMade !== 0)).toEqual([]);
    expect(await metric(/hikhub_archiver_circuit_open\{dependency="postgres",service="archiver"\} (\d+)/)).toBe('1');
    expect(Number(await metric(/hikhub_archiver_jobs_held_back_total\{dependency="postgres",service="archiver"\} (\d+)/))).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${archiver.metricsPort}/readyz`)).status).toBe(503);

    await postgres.launch();
    const back = Date.now();
    await waitFor(async () => ((await queue.getJobCounts('completed')).completed ?? 0) > 5, 60_000, 'draining to start');
    // Reported, not asserted (no timing thresholds in tests): the probe runs every 500 ms.
    console.info(`drain started ${Date.now() - back} ms after Postgres accepted connections again`);
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === sent, 60_000, 'the backlog to drain');

    const db = createDb(postgres.urlFor('hikhub'), 1);
    const rows = await db.selectFrom('events').select(['mac_address']).execute();
    await db.destroy();
    expect(rows.map((row) => row.mac_address).sort()).toEqual(Array.from({ length: sent }, (_, i) => macOf(i + 1)).sort());
    // Each job ran to completion on the attempt it started with: the outage cost none.
    const completed = await queue.getJobs(['completed'], 0, -1);
    expect(completed).toHaveLength(sent);
    expect(completed.filter((job) => job.attemptsMade !== 1 || job.stalledCounter !== 0).map((job) => job.id)).toEqual([]);
    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    expect(await metric(/hikhub_archiver_circuit_open\{dependency="postgres",service="archiver"\} (\d+)/)).toBe('0');
    expect(await metric(/hikhub_archiver_job_failures_total\{final="false",service="archiver"\} (\d+)/)).toBe('0');
    expect((await fetch(`http://127.0.0.1:${archiver.metricsPort}/readyz`)).status).toBe(200);
  });

  it('spends no attempt either when its connection is killed under a job while Postgres stays up (a blip)', async () => {
    const { queue } = world;
    const before = (await queue.getJobCounts('completed')).completed!;
    const heldBefore = Number(await metric(/hikhub_archiver_jobs_held_back_total\{dependency="postgres",service="archiver"\} (\d+)/));
    const db = createDb(postgres.urlFor('hikhub'), 2);
    const blocker = await db.connection().execute(async (connection) => {
      // Hold inserts back so the job is inside its statement when its backend is terminated (57P01).
      await sql`begin`.execute(connection);
      await sql`lock table events in share mode`.execute(connection);
      const n = 100_000;
      expect((await sendRaw(ingest.port, buildPost('/io', event(n), { 'Content-Type': 'text/xml' })))?.status).toBe(200);
      const waiting = await waitFor(async () => {
        const rows = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%insert into%events%'`.execute(db);
        return rows.rows[0];
      }, 15_000, 'the insert to wait on the lock');
      await sql`select pg_terminate_backend(${waiting.pid})`.execute(db);
      await sql`rollback`.execute(connection);
      return n;
    });
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === before + 1, 15_000, 'the event archived');
    const rows = await db.selectFrom('events').select('id').where('mac_address', '=', macOf(blocker)).execute();
    await db.destroy();
    expect(rows).toHaveLength(1);
    const job = await queue.getJob(rows[0]!.id);
    expect(job?.attemptsMade).toBe(1);
    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    // Handed back once (Postgres answered the probe, so the circuit stayed closed), not retried with backoff.
    expect(Number(await metric(/hikhub_archiver_jobs_held_back_total\{dependency="postgres",service="archiver"\} (\d+)/))).toBe(heldBefore + 1);
    expect(await metric(/hikhub_archiver_circuit_open\{dependency="postgres",service="archiver"\} (\d+)/)).toBe('0');
  });
});
