import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { startTestIngest } from '../helpers/ingest.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait.js';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(20_000, 0x5a), Buffer.from([0xff, 0xd9])]);

function faceEvent(serialNo: number): { body: Buffer; contentType: string } {
  const json = JSON.stringify({
    macAddress: '02:00:00:00:0d:01',
    dateTime: '2026-01-05T08:02:00+01:00',
    eventType: 'AccessControllerEvent',
    eventState: 'active',
    AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: '7', name: 'Grace', serialNo },
  });
  const body = Buffer.concat([
    Buffer.from(`--B\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\n\r\n${json}\r\n--B\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    JPEG,
    Buffer.from('\r\n--B--\r\n'),
  ]);
  return { body, contentType: 'multipart/form-data; boundary=B' };
}

/**
 * The picture disk away: DATA_DIR stops being a directory (the volume went away and something
 * else sits at its path; works as root too, unlike permissions). Jobs are held, not failed, and
 * no attempt is spent; when DATA_DIR is back every event is archived with its picture.
 */
describe('archiver while DATA_DIR cannot be written', () => {
  let world: Awaited<ReturnType<typeof createTestWorld>>;
  let archiver: Awaited<ReturnType<typeof startTestArchiver>>;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let dataDir: string;
  const metric = async (line: RegExp) => line.exec(await (await fetch(`http://127.0.0.1:${archiver.metricsPort}/metrics`)).text())?.[1];

  beforeAll(async () => {
    world = await createTestWorld('disk-outage');
    dataDir = join(world.dataDir, 'volume');
    await mkdir(dataDir);
    archiver = await startTestArchiver({ ...world.env, DATA_DIR: dataDir });
    ingest = await startTestIngest({ QUEUE_PREFIX: world.prefix });
  });

  afterAll(async () => {
    await ingest?.stop();
    await archiver?.stop();
    await world?.teardown();
  });

  it('holds jobs with no attempt spent and archives them with their pictures once the disk is back', async () => {
    const { queue, db } = world;
    const post = async (serialNo: number) => {
      const { body, contentType } = faceEvent(serialNo);
      expect((await sendRaw(ingest.port, buildPost('/event/notification', body, { 'Content-Type': contentType })))?.status).toBe(200);
    };
    await post(1);
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 1, 15_000, 'the first event');

    await rename(dataDir, `${dataDir}.away`);
    await writeFile(dataDir, 'not a directory');
    for (let n = 2; n <= 11; n += 1) await post(n);
    await waitFor(async () => (await metric(/hikhub_archiver_circuit_open\{dependency="pictures",service="archiver"\} (\d+)/)) === '1', 15_000, 'the circuit to open');
    await waitFor(async () => Number(await metric(/hikhub_archiver_jobs_held_back_total\{dependency="pictures",service="archiver"\} (\d+)/)) >= 10, 15_000, 'jobs held');
    expect((await fetch(`http://127.0.0.1:${archiver.metricsPort}/readyz`)).status).toBe(503);
    expect(await queue.getJobCounts('completed', 'failed', 'delayed')).toEqual({ completed: 1, failed: 0, delayed: 0 });
    expect((await queue.getJobs(['wait', 'active'], 0, -1)).filter((job) => job.attemptsMade !== 0)).toEqual([]);

    await rm(dataDir);
    await rename(`${dataDir}.away`, dataDir);
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 11, 30_000, 'the held jobs to be archived');

    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    const completed = await queue.getJobs(['completed'], 0, -1);
    expect(completed.filter((job) => job.attemptsMade !== 1).map((job) => job.id)).toEqual([]);
    const rows = await db.selectFrom('events').select('id').execute();
    expect(rows).toHaveLength(11);
    const files = (await readdir(join(dataDir, 'pictures'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    expect(files.map((file) => file.name).sort()).toEqual(rows.map((row) => `${row.id}-0.jpg`).sort());
    expect(await metric(/hikhub_archiver_circuit_open\{dependency="pictures",service="archiver"\} (\d+)/)).toBe('0');
  });
});
