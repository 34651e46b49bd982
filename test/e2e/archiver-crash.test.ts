import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
 * kill -9 an archiver while it is inside a job — picture written, its insert waiting on a table
 * lock this test holds — then start another archiver: the job runs again and the result is
 * one row, one picture file, one log line. Nothing duplicated, nothing lost.
 */
describe('archiver killed in the middle of a job', async () => {
  const world = await createTestWorld('crash');
  const { db, queue } = world;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  const archivers: ServiceProcess[] = [];

  const startArchiver = async () => {
    const port = await freePort();
    const archiver = ServiceProcess.start('services/archiver/main.ts', {
      ...world.env,
      REDIS_URL: TEST_REDIS_URL,
      ARCHIVER_METRICS_PORT: String(port),
      // Short locks so a dead archiver's job is taken over in about a second (BullMQ's own test trick).
      ARCHIVER_LOCK_DURATION_MS: '1500',
      ARCHIVER_STALLED_INTERVAL_MS: '500',
    });
    archivers.push(archiver);
    await archiver.waitReady(`http://127.0.0.1:${port}/readyz`);
    return archiver;
  };

  beforeAll(async () => {
    ingest = await startTestIngest({ QUEUE_PREFIX: world.prefix });
  });

  afterAll(async () => {
    for (const archiver of archivers) await archiver.crash();
    await ingest?.stop();
    await world.teardown();
  });

  it('re-runs the job elsewhere with no duplicate and no loss', async () => {
    const first = await startArchiver();
    const post = async (serialNo: number) => {
      const { body, contentType } = faceEvent(serialNo);
      const response = await sendRaw(ingest.port, buildPost('/event/notification', body, { 'Content-Type': contentType }));
      expect(response?.status).toBe(200);
      return response!.headers['x-event-id']!;
    };
    const firstId = await post(1);
    await waitFor(() => db.selectFrom('events').select('id').where('id', '=', firstId).executeTakeFirst(), 15_000, 'first event archived');
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 1, 10_000, 'first job completed');

    // Block inserts into events: the archiver's transaction for the next event waits inside the job,
    // after its picture is on disk and before its commit.
    const blocker = new pg.Client({ connectionString: world.databaseUrl });
    blocker.on('error', () => {}); // dropped with the test database if the test fails midway
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table events in share mode');

    const eventId = await post(2);
    await waitFor(async () => {
      const waiting = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%insert into "events"%'`.execute(db);
      return Number(waiting.rows[0]!.n) > 0;
    }, 15_000, 'the archiver to block inside its transaction');
    expect((await queue.getJobCounts('active')).active).toBe(1);

    await first.crash();
    await blocker.query('rollback');
    await blocker.end();

    await startArchiver();
    await waitFor(async () => (await db.selectFrom('events').select('id').where('id', '=', eventId).executeTakeFirst()) ?? false, 20_000, 'the job to be re-run');
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 2, 10_000, 'both jobs completed');

    const rows = await db.selectFrom('events').select(['id', 'serial_no']).orderBy('serial_no').execute();
    expect(rows.map((row) => row.serial_no)).toEqual(['1', '2']);
    const pictures = await db.selectFrom('event_pictures').selectAll().where('event_id', '=', eventId).execute();
    expect(pictures).toHaveLength(1);
    expect((await readFile(join(world.dataDir, pictures[0]!.path))).equals(JPEG)).toBe(true);
    const files = (await readdir(join(world.dataDir, 'pictures'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    expect(files.map((file) => file.name).sort()).toEqual([`${rows[0]!.id}-0.jpg`, `${eventId}-0.jpg`].sort());
    const log = await readFile(join(world.dataDir, 'logs', `hikvision_events_${localDay(new Date())}.log`), 'utf8');
    expect(log.split('\n').filter((line) => line.includes(eventId))).toHaveLength(1);
    const access = await readFile(join(world.dataDir, 'logs', `Access Log ${localDay(new Date())}.log`), 'utf8');
    expect(access.split('\n').filter(Boolean)).toHaveLength(2);
  });
});
