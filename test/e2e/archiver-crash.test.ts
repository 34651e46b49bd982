import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import { bodyKey } from '../../libs/jobs/body-store.js';
import { createEventWriter } from '../../services/ingest/event-writer.js';
import { CRASHES_ARCHIVER } from '../../services/archiver/crash-quarantine.js';
import { localDay } from '../../services/archiver/daily-logs.js';
import { createTestWorld } from '../helpers/archiver.js';
import { waitFor } from '../helpers/wait.js';
import { startTestIngest } from '../helpers/ingest.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { freePort } from '../helpers/redis-server.js';
import { ServiceProcess } from '../helpers/service-process.js';

const MAC = '02:00:00:00:0c:01';
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(30_000, 0x5a), Buffer.from([0xff, 0xd9])]);

function faceEvent(serialNo: number): { body: Buffer; contentType: string } {
  const json = JSON.stringify({
    macAddress: MAC,
    dateTime: '2026-01-05T08:02:00+01:00',
    eventType: 'AccessControllerEvent',
    eventState: 'active',
    AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: '1001', name: 'Ada', serialNo },
  });
  const body = Buffer.concat([
    Buffer.from(`--MIME_boundary\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\n\r\n${json}\r\n--MIME_boundary\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\nContent-Type: image/jpeg\r\nContent-ID: pictureImage\r\n\r\n`),
    JPEG,
    Buffer.from('\r\n--MIME_boundary--\r\n'),
  ]);
  return { body, contentType: 'multipart/form-data; boundary=MIME_boundary' };
}

/**
 * A test file's world (database, prefix, data dir), an ingest, and archivers as child processes
 * that the test kills with SIGKILL (by pid) while they are inside a job: the job's picture is
 * written and its insert waits on a table lock the test holds.
 */
async function crashHarness(label: string, archiverEnv: Record<string, string> = {}) {
  const world = await createTestWorld(label);
  const archivers: ServiceProcess[] = [];
  let ingest: Awaited<ReturnType<typeof startTestIngest>> | undefined;
  let blocker: pg.Client | undefined;

  return {
    world,
    async setUp() {
      ingest = await startTestIngest({ QUEUE_PREFIX: world.prefix });
    },
    async tearDown() {
      for (const archiver of archivers) await archiver.crash();
      await blocker?.end().catch(() => {});
      await ingest?.stop();
      await world.teardown();
    },
    async startArchiver() {
      const port = await freePort();
      const archiver = ServiceProcess.start('services/archiver/main.ts', {
        ...world.env,
        REDIS_URL: TEST_REDIS_URL,
        ARCHIVER_METRICS_PORT: String(port),
        // Short locks so a dead archiver's job is taken over in about a second (BullMQ's own test trick).
        ARCHIVER_LOCK_DURATION_MS: '1500',
        ARCHIVER_STALLED_INTERVAL_MS: '500',
        ...archiverEnv,
      });
      archivers.push(archiver);
      await archiver.waitReady(`http://127.0.0.1:${port}/readyz`);
      return archiver;
    },
    async post(serialNo: number): Promise<string> {
      const { body, contentType } = faceEvent(serialNo);
      const response = await sendRaw(ingest!.port, buildPost('/event/notification', body, { 'Content-Type': contentType }));
      expect(response?.status).toBe(200);
      return response!.headers['x-event-id']!;
    },
    /** Block inserts into events: an archiver's next job waits inside, after its picture is on disk. */
    async blockInserts() {
      blocker = new pg.Client({ connectionString: world.databaseUrl });
      blocker.on('error', () => {}); // dropped with the test database if the test fails midway
      await blocker.connect();
      await blocker.query('begin');
      await blocker.query('lock table events in share mode');
    },
    async releaseInserts() {
      await blocker!.query('rollback');
      await blocker!.end();
      blocker = undefined;
    },
    /**
     * SIGKILL the archiver, then end its backends still waiting on the lock: Postgres would only
     * notice the dead client when the lock is granted, and its waiting insert would look like the
     * next archiver's.
     */
    async crash(archiver: ServiceProcess) {
      await archiver.crash();
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`.execute(world.db);
    },
    async insertIsBlocked() {
      await waitFor(async () => {
        const waiting = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%insert into%events%'`.execute(world.db);
        return Number(waiting.rows[0]!.n) > 0;
      }, 20_000, 'an archiver to block inside its insert');
    },
  };
}

/**
 * kill -9 an archiver while it is inside a job — picture written, its insert waiting on a table
 * lock this test holds — then start another archiver: the job runs again and the result is
 * one row, one picture file, one log line. Nothing duplicated, nothing lost.
 */
describe('archiver killed in the middle of a job', async () => {
  const harness = await crashHarness('crash');
  const { db, queue } = harness.world;
  beforeAll(() => harness.setUp());
  afterAll(() => harness.tearDown());

  it('re-runs the job elsewhere with no duplicate and no loss', async () => {
    const first = await harness.startArchiver();
    const firstId = await harness.post(1);
    await waitFor(() => db.selectFrom('events').select('id').where('id', '=', firstId).executeTakeFirst(), 15_000, 'first event archived');
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 1, 10_000, 'first job completed');

    await harness.blockInserts();
    const eventId = await harness.post(2);
    await harness.insertIsBlocked();
    expect((await queue.getJobCounts('active')).active).toBe(1);

    await first.crash();
    await harness.releaseInserts();

    await harness.startArchiver();
    await waitFor(async () => (await db.selectFrom('events').select('id').where('id', '=', eventId).executeTakeFirst()) ?? false, 20_000, 'the job to be re-run');
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 2, 10_000, 'both jobs completed');

    const rows = await db.selectFrom('events').select(['id', 'serial_no']).orderBy('serial_no').execute();
    expect(rows.map((row) => row.serial_no)).toEqual(['1', '2']);
    const pictures = await db.selectFrom('event_pictures').selectAll().where('event_id', '=', eventId).execute();
    expect(pictures).toHaveLength(1);
    expect((await readFile(join(harness.world.dataDir, pictures[0]!.path))).equals(JPEG)).toBe(true);
    const files = (await readdir(join(harness.world.dataDir, 'pictures'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    expect(files.map((file) => file.name).sort()).toEqual([`${rows[0]!.id}-0.jpg`, `${eventId}-0.jpg`].sort());
    const log = await readFile(join(harness.world.dataDir, 'logs', `hikvision_events_${localDay(new Date())}.log`), 'utf8');
    expect(log.split('\n').filter((line) => line.includes(eventId))).toHaveLength(1);
    const access = await readFile(join(harness.world.dataDir, 'logs', `Access Log ${localDay(new Date())}.log`), 'utf8');
    expect(access.split('\n').filter(Boolean)).toHaveLength(2);
  });
});

/**
 * The case: an archiver that keeps dying (here: four times, each time inside jobs) with
 * devices posting all along. BullMQ would have failed a job on its third stall; now no job ever
 * reaches `failed`, and every event is archived exactly once (one row, one picture, one log line).
 */
describe('archiver killed again and again under load', async () => {
  const harness = await crashHarness('crash-loop', { ARCHIVER_CONCURRENCY: '4' });
  const { db, queue } = harness.world;
  beforeAll(() => harness.setUp());
  afterAll(() => harness.tearDown());

  it('never sends a job to failed and archives every event exactly once', { timeout: 120_000 }, async () => {
    const KILLS = 4;
    const PER_ROUND = 5;
    let sent = 0;
    const postRound = async () => {
      for (let i = 0; i < PER_ROUND; i += 1) await harness.post(++sent);
    };

    let archiver = await harness.startArchiver();
    await postRound();
    for (let kill = 1; kill <= KILLS; kill += 1) {
      // Everything so far archived, then the next jobs block inside their insert and the archiver dies there.
      await waitFor(async () => (await queue.getJobCounts('completed')).completed === sent, 30_000, `round ${kill}: backlog archived`);
      await harness.blockInserts();
      await postRound();
      await harness.insertIsBlocked();
      expect((await queue.getJobCounts('active')).active).toBeGreaterThan(0);
      await harness.crash(archiver);
      await harness.releaseInserts();
      await postRound(); // devices keep posting while no archiver runs
      archiver = await harness.startArchiver();
    }
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === sent, 30_000, 'every job completed');

    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    const completed = await queue.getJobs(['completed'], 0, -1);
    expect(completed).toHaveLength(sent);
    // The kills did hit jobs: those ran again after their archiver died (and each stalled only once, so none was quarantined).
    expect(completed.filter((job) => job.stalledCounter > 0).length).toBeGreaterThanOrEqual(KILLS);
    expect(await db.selectFrom('quarantined_events').select('id').execute()).toEqual([]);

    const rows = await db.selectFrom('events').select(['id', 'serial_no']).execute();
    expect(rows.map((row) => Number(row.serial_no)).sort((a, b) => a - b)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    const pictures = await db.selectFrom('event_pictures').select(['event_id', 'path']).execute();
    expect(new Set(pictures.map((picture) => picture.event_id)).size).toBe(sent);
    expect(pictures).toHaveLength(sent);
    // A kill in the middle of a picture's write leaves its temporary sibling (never renamed into place, never referenced).
    const files = (await readdir(join(harness.world.dataDir, 'pictures'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile() && !entry.name.endsWith('.tmp'));
    expect(files.map((file) => file.name).sort()).toEqual(rows.map((row) => `${row.id}-0.jpg`).sort());
    const log = (await readFile(join(harness.world.dataDir, 'logs', `hikvision_events_${localDay(new Date())}.log`), 'utf8')).split('\n').filter(Boolean);
    expect(log).toHaveLength(sent);
    expect(new Set(log.map((line) => (JSON.parse(line) as { id: string }).id))).toEqual(new Set(rows.map((row) => row.id)));
  });
});

/**
 * A true poison: a payload the archiver dies on every time it runs it (here the test kills the
 * archiver whenever the job is inside). After ARCHIVER_MAX_STALLS deaths it is quarantined with
 * its bytes (reason crashes_archiver), never failed, and the archiver moves on.
 */
describe('a job that kills the archiver every time', async () => {
  const harness = await crashHarness('crash-poison', { ARCHIVER_MAX_STALLS: '2' });
  const { db, queue } = harness.world;
  beforeAll(() => harness.setUp());
  afterAll(() => harness.tearDown());

  it('is quarantined as crashes_archiver after ARCHIVER_MAX_STALLS deaths instead of failing', { timeout: 90_000 }, async () => {
    let archiver = await harness.startArchiver(); // creates and migrates the database
    await harness.blockInserts();
    const eventId = await harness.post(1);
    for (let death = 1; death <= 2; death += 1) {
      await harness.insertIsBlocked();
      await harness.crash(archiver);
      archiver = await harness.startArchiver();
    }
    // The third run does not run it: it is quarantined, while inserts are still blocked.
    const row = await waitFor(() => db.selectFrom('quarantined_events').selectAll().where('id', '=', eventId).executeTakeFirst(), 20_000, 'the poison quarantined');
    expect(row.reason_code).toBe(CRASHES_ARCHIVER);
    expect(row.reason).toContain('2 times');
    expect((await readFile(join(harness.world.dataDir, row.body_path))).includes(JPEG)).toBe(true);
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 1, 10_000, 'the job completed');
    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    const job = await queue.getJob(eventId);
    expect(await harness.world.redis.exists((job!.data as { body: { key: string } }).body.key)).toBe(0);

    // The archiver goes on with the next events once the lock is gone.
    await harness.releaseInserts();
    const nextId = await harness.post(2);
    await waitFor(() => db.selectFrom('events').select('id').where('id', '=', nextId).executeTakeFirst(), 20_000, 'the next event archived');
    expect(await db.selectFrom('events').select('id').where('id', '=', eventId).executeTakeFirst()).toBeUndefined();
  });
});

/**
 * kill -9 an archiver in the middle of an event.archive-batch job (events posted concurrently,
 * so the ingest wrote them as one batch): the batch is not run again as a batch but split into
 * one event.archive job per event, and every event ends archived exactly once.
 */
describe('archiver killed in the middle of a batch job', async () => {
  const harness = await crashHarness('crash-batch');
  const { db, queue } = harness.world;
  beforeAll(() => harness.setUp());
  afterAll(() => harness.tearDown());

  it('splits the stalled batch into single jobs and archives every event once', { timeout: 90_000 }, async () => {
    const EVENTS = 12;
    // An archiver creates and migrates the database, then stops: the events wait in the queue as the ingest wrote them.
    await (await harness.startArchiver()).stop();
    // The ingest's own writer, given the events in one tick as concurrent requests would (HTTP
    // posts may or may not overlap), so they are one transaction and one batch job.
    const write = createEventWriter({ redis: harness.world.redis, queue, prefix: harness.world.prefix, timeoutMs: 5_000 });
    const ids = Array.from({ length: EVENTS }, () => uuidV7());
    await Promise.all(
      ids.map((id, n) => {
        const { body, contentType } = faceEvent(n + 1);
        const headers = { 'content-type': contentType, 'content-length': String(body.length) };
        return write({ id, receivedAt: new Date().toISOString(), remoteAddress: '127.0.0.1', method: 'POST', path: '/event/notification', query: '', headers }, body);
      }),
    );
    const batches = (await queue.getJobs(['waiting'], 0, -1)).filter((job) => job.name === 'event.archive-batch');
    expect(batches).toHaveLength(1);

    await harness.blockInserts();
    const archiver = await harness.startArchiver();
    await harness.insertIsBlocked();
    await harness.crash(archiver);
    await harness.releaseInserts();
    await harness.startArchiver();

    await waitFor(async () => (await db.selectFrom('events').select('id').execute()).length === EVENTS, 30_000, 'every event archived');
    await waitFor(async () => (await queue.getJobCounts('waiting', 'active', 'delayed')).waiting === 0 && (await queue.getJobCounts('active')).active === 0, 15_000, 'the queue to drain');
    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    // The killed batches were split: their events completed as event.archive jobs of their own (job id = event id).
    const split = await Promise.all(batches.map(async (batch) => (await queue.getJob(batch.id!))?.returnvalue as { splitOut: number } | undefined));
    expect(split.some((result) => (result?.splitOut ?? 0) > 0)).toBe(true);
    const singles = (await queue.getJobs(['completed'], 0, -1)).filter((job) => job.name === 'event.archive');
    expect(singles.every((job) => ids.includes(job.id!))).toBe(true);
    expect(singles.length).toBeGreaterThan(0);
    expect(await db.selectFrom('quarantined_events').select('id').execute()).toEqual([]);

    const rows = await db.selectFrom('events').select(['id', 'serial_no']).execute();
    expect(rows.map((row) => row.id).sort()).toEqual([...ids].sort());
    expect(rows.map((row) => Number(row.serial_no)).sort((a, b) => a - b)).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
    expect(await db.selectFrom('event_pictures').select('event_id').execute()).toHaveLength(EVENTS);
    const log = await readFile(join(harness.world.dataDir, 'logs', `hikvision_events_${localDay(new Date())}.log`), 'utf8');
    for (const id of ids) expect(log.split('\n').filter((line) => line.includes(id))).toHaveLength(1);
    for (const id of ids) expect(await harness.world.redis.exists(bodyKey(harness.world.prefix, id))).toBe(0);
  });
});
