import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDay } from '../../services/archiver/daily-logs.js';
import { createTestWorld } from '../helpers/archiver.js';
import { waitFor } from '../helpers/wait.js';
import { startTestIngest } from '../helpers/ingest.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { freePort } from '../helpers/redis-server.js';
import { ServiceProcess } from '../helpers/service-process.js';

const MOTION_EVENTS = 400;
const ACCESS_EVENTS = 200;

/** Lines longer than a pipe buffer (4 KiB), so a torn or interleaved write would show. */
const motion = (n: number) =>
  `<EventNotificationAlert><macAddress>02:00:00:00:aa:${(n % 200).toString(16).padStart(2, '0')}</macAddress><eventType>VMD</eventType><eventState>active</eventState><dateTime>2026-01-05T08:00:00Z</dateTime><eventDescription>${'m'.repeat(12_000)}-${n}</eventDescription></EventNotificationAlert>`;
const access = (n: number) =>
  JSON.stringify({
    macAddress: '02:00:00:00:bb:01',
    dateTime: '2026-01-05T08:02:00+01:00',
    eventType: 'AccessControllerEvent',
    eventState: 'active',
    AccessControllerEvent: { majorEventType: 5, subEventType: 1, employeeNoString: String(1000 + n), name: `Person ${n}`, cardNo: String(n), serialNo: n },
  });

/** Two archiver processes on one queue, one database and one DATA_DIR, as replicas run in production. */
describe('several archiver replicas', async () => {
  const world = await createTestWorld('replicas');
  const { db } = world;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  const archivers: ServiceProcess[] = [];
  const metricsPorts: number[] = [];

  beforeAll(async () => {
    ingest = await startTestIngest({ QUEUE_PREFIX: world.prefix });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const archiver = ServiceProcess.start('services/archiver/main.ts', { ...world.env, REDIS_URL: TEST_REDIS_URL, ARCHIVER_METRICS_PORT: String(port), ARCHIVER_CONCURRENCY: '8' });
      archivers.push(archiver);
      metricsPorts.push(port);
    }
    for (const [i, archiver] of archivers.entries()) await archiver.waitReady(`http://127.0.0.1:${metricsPorts[i]}/readyz`);
  }, 60_000);

  afterAll(async () => {
    for (const archiver of archivers) await archiver.stop();
    await ingest?.stop();
    await world.teardown();
  });

  it('share the work, write every row once, and never tear or interleave log lines', async () => {
    const pool = new Pool(`http://127.0.0.1:${ingest.port}`, { connections: 16 });
    const send = async (body: string, contentType: string) => {
      const { statusCode, body: response } = await pool.request({ path: '/events', method: 'POST', headers: { 'content-type': contentType }, body });
      await response.dump();
      return statusCode;
    };
    const statuses = await Promise.all([
      ...Array.from({ length: MOTION_EVENTS }, (_, n) => send(motion(n), 'application/xml')),
      ...Array.from({ length: ACCESS_EVENTS }, (_, n) => send(access(n), 'application/json')),
    ]);
    await pool.close();
    expect(statuses.every((status) => status === 200)).toBe(true);

    const archivedBy = async () =>
      Promise.all(
        metricsPorts.map(async (port) => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return [...text.matchAll(/^hikhub_archiver_events_total\{outcome="archived"[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
        }),
      );
    await waitFor(async () => (await archivedBy()).reduce((a, b) => a + b) === MOTION_EVENTS + ACCESS_EVENTS, 60_000, 'every event archived');
    const perReplica = await archivedBy();
    expect(perReplica.every((count) => count > 0)).toBe(true);

    const rows = await db.selectFrom('events').select('id').execute();
    expect(rows).toHaveLength(MOTION_EVENTS + ACCESS_EVENTS);

    const logDir = join(world.dataDir, 'logs');
    const eventLines = (await readFile(join(logDir, `hikvision_events_${localDay(new Date())}.log`), 'utf8')).split('\n').filter(Boolean);
    expect(eventLines).toHaveLength(MOTION_EVENTS + ACCESS_EVENTS);
    const ids = eventLines.map((line) => (JSON.parse(line) as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(rows.map((row) => row.id).sort());

    const accessLines = (await readFile(join(logDir, `Access Log ${localDay(new Date())}.log`), 'utf8')).split('\n').filter(Boolean);
    expect(accessLines).toHaveLength(ACCESS_EVENTS);
    for (const line of accessLines) {
      expect(line).toMatch(/^2026-01-05T08:02:00\+01:00 \| device 02:00:00:00:bb:01 \| employee \d+ \| Person \d+ \| .+ \| no picture$/);
    }
  });
});
