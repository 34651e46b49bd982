import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestWorld } from '../helpers/archiver.js';
import { waitFor } from '../helpers/wait.js';
import { fixtureNames, haveFixtures, MISSING_FIXTURES_MESSAGE, readFixture, splitHttpCapture } from '../helpers/fixtures.js';
import { sendRaw } from '../helpers/raw-http.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { freePort } from '../helpers/redis-server.js';
import { ServiceProcess } from '../helpers/service-process.js';

/**
 * The whole system as `npm start` runs it (one process, every service), fed every capture in
 * ../shared/fixtures the way devices send them: .http captures replayed byte for byte over TCP,
 * XML and JSON documents as POSTs, and every line of the alertStream samples as its own POST.
 */

if (!haveFixtures) console.warn(MISSING_FIXTURES_MESSAGE);

const OMITTED_JPEG = 'smartacesso__face_terminal_event_log_multipart_jpeg_omitted.http';

interface Sent {
  fixture: string;
  eventId: string;
}

/** Image parts of a capture, by naive splitting on CRLF--boundary (an oracle independent of the parser). */
function imageParts(capture: Buffer): Buffer[] {
  const { headers, body } = splitHttpCapture(capture);
  const boundary = /boundary=("?)([^";]+)\1/i.exec(headers['content-type'] ?? '')?.[2];
  if (!boundary) return [];
  const delimiter = `--${boundary}`;
  const images: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1 && body.toString('latin1', at + delimiter.length, at + delimiter.length + 2) !== '--') {
    const headerEnd = body.indexOf('\r\n\r\n', at);
    const next = body.indexOf(`\r\n${delimiter}`, headerEnd + 4);
    if (/content-type:\s*image\//i.test(body.toString('latin1', at, headerEnd))) images.push(body.subarray(headerEnd + 4, next));
    at = next + 2;
  }
  return images;
}

/** The jpeg-omitted capture declares lengths of the original JPEG; give it the length of what it has. */
function withExactContentLength(capture: Buffer): Buffer {
  const { body } = splitHttpCapture(capture);
  const end = capture.indexOf('\r\n\r\n');
  const head = capture.subarray(0, end).toString('latin1').replace(/Content-Length: \d+/i, `Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]);
}

describe.skipIf(!haveFixtures)('end to end: every fixture through ingest → Redis → archiver → Postgres and files', async () => {
  const world = await createTestWorld('e2e');
  const ports = { ingest: await freePort(), ingestMetrics: await freePort(), archiverMetrics: await freePort(), api: await freePort(), apiMetrics: await freePort(), provisionerMetrics: await freePort() };
  const { db, queue } = world;
  let system: ServiceProcess;
  const sent: Sent[] = [];
  const heartbeatLines = { cam: 349, nvr: 3061, ptz: 75 };
  const streamEvents = { cam: 421, nvr: 2520, ptz: 1441 };

  beforeAll(async () => {
    system = ServiceProcess.start('services/all/main.ts', {
      ...world.env,
      REDIS_URL: TEST_REDIS_URL,
      INGEST_HOST: '127.0.0.1',
      INGEST_PORT: String(ports.ingest),
      INGEST_METRICS_PORT: String(ports.ingestMetrics),
      ARCHIVER_METRICS_PORT: String(ports.archiverMetrics),
      // npm start runs the API and the provisioner too: free ports, so a running install does not collide.
      API_HOST: '127.0.0.1',
      API_PORT: String(ports.api),
      API_METRICS_PORT: String(ports.apiMetrics),
      PROVISIONER_METRICS_PORT: String(ports.provisionerMetrics),
      RECONCILE_INTERVAL_MS: '0',
      ARCHIVER_CONCURRENCY: '16',
      // Every capture here comes from 127.0.0.1 as fast as the box sends: three devices' streams at once,
      // far past one device's rate. The per-address limit is tested on its own (edge-rate-limit.test.ts).
      INGEST_RATE_PER_ADDRESS: '0',
    });
    await system.waitReady(`http://127.0.0.1:${ports.ingestMetrics}/readyz`);
    await system.waitReady(`http://127.0.0.1:${ports.archiverMetrics}/readyz`);
  }, 60_000);

  afterAll(async () => {
    await system?.crash();
    await world.teardown();
  });

  it('accepts every capture', async () => {
    for (const name of fixtureNames()) {
      const bytes = readFixture(name);
      if (name.endsWith('.http')) {
        if (name === OMITTED_JPEG) {
          // Byte for byte this request is shorter than its Content-Length: the device "hangs up" and nothing may be queued.
          await expect(sendRaw(ports.ingest, bytes, { timeoutMs: 500 })).rejects.toThrow(/no complete response/);
        }
        const response = await sendRaw(ports.ingest, name === OMITTED_JPEG ? withExactContentLength(bytes) : bytes);
        expect(response?.status, name).toBe(200);
        sent.push({ fixture: name, eventId: response!.headers['x-event-id']! });
      } else if (name.endsWith('.xml') || name.endsWith('.json')) {
        const response = await fetch(`http://127.0.0.1:${ports.ingest}/hikvision/events`, {
          method: 'POST',
          headers: { 'content-type': name.endsWith('.xml') ? 'application/xml' : 'application/json' },
          body: bytes,
        });
        expect(response.status, name).toBe(200);
        sent.push({ fixture: name, eventId: response.headers.get('x-event-id')! });
      }
    }

    // The alertStream samples: thousands of parts, each POSTed as a device in HTTP-listening mode would.
    const pool = new Pool(`http://127.0.0.1:${ports.ingest}`, { connections: 16 });
    try {
      for (const name of fixtureNames().filter((n) => n.endsWith('.jsonl.txt'))) {
        const lines = readFixture(name).toString('utf8').split('\n').filter((line) => line.trim());
        const statuses = await Promise.all(
          lines.map(async (line) => {
            const { statusCode, body } = await pool.request({
              path: '/ISAPI/Event/notification/alertStream',
              method: 'POST',
              headers: { 'content-type': 'application/xml; charset="UTF-8"' },
              body: (JSON.parse(line) as { content: string }).content,
            });
            await body.dump();
            return statusCode;
          }),
        );
        const byStatus = Object.fromEntries([...new Set(statuses)].map((status) => [status, statuses.filter((s) => s === status).length]));
        expect(byStatus, name).toEqual({ 200: statuses.length });
      }
    } finally {
      await pool.close();
    }
  });

  it('archives them all without a failure', async () => {
    const total = sent.length + Object.values(heartbeatLines).reduce((a, b) => a + b) + Object.values(streamEvents).reduce((a, b) => a + b);
    // Accounting, not just an empty queue: the archiver's outcome counters must add up to every request sent.
    const finished = async () => {
      const text = await (await fetch(`http://127.0.0.1:${ports.archiverMetrics}/metrics`)).text();
      return [...text.matchAll(/^hikhub_archiver_events_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    await waitFor(async () => (await finished()) >= total, 120_000, `${total} events to be archived`);
    expect(await finished()).toBe(total);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
  }, 150_000);

  it('gives one events row per event capture; heartbeats and config documents are not events', async () => {
    const rows = new Set((await db.selectFrom('events').select('id').execute()).map((row) => row.id));
    const quarantined = await db.selectFrom('quarantined_events').select(['id', 'reason_code']).execute();
    for (const { fixture, eventId } of sent) {
      if (fixture.includes('__config_httpHosts')) {
        expect(quarantined.find((row) => row.id === eventId), fixture).toMatchObject({ reason_code: 'not_an_event' });
      } else if (fixture.endsWith('videoloss_inactive.xml')) {
        expect(rows.has(eventId), `${fixture} is a heartbeat`).toBe(false);
      } else if (fixture.startsWith('smartacesso__') && fixture !== 'smartacesso__face_terminal_AccessControllerEvent_event_log.json') {
        // The three smartacesso captures are one access event (same terminal, serialNo 42): one row for all.
      } else {
        expect(rows.has(eventId), fixture).toBe(true);
      }
    }
    const smartacesso = sent.filter((s) => s.fixture.startsWith('smartacesso__'));
    expect(smartacesso.filter((s) => rows.has(s.eventId))).toHaveLength(1);
    expect(quarantined).toHaveLength(2);

    const singles = sent.filter((s) => !s.fixture.includes('__config_') && !s.fixture.endsWith('videoloss_inactive.xml')).length - 2;
    const total = await db.selectFrom('events').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    expect(Number(total.n)).toBe(singles + Object.values(streamEvents).reduce((a, b) => a + b));

    // Device counters are flushed about once a second.
    const expectedHeartbeats = Object.values(heartbeatLines).reduce((a, b) => a + b) + 2;
    const heartbeatSum = async () => Number((await db.selectFrom('devices').select(sql<string>`sum(heartbeat_count)`.as('n')).executeTakeFirstOrThrow()).n);
    await waitFor(async () => (await heartbeatSum()) === expectedHeartbeats, 5_000, `${expectedHeartbeats} heartbeats on devices`);
    const eventSum = await db.selectFrom('devices').select(sql<string>`sum(event_count)`.as('n')).executeTakeFirstOrThrow();
    expect(Number(eventSum.n)).toBe(Number(total.n));
  });

  it('stores every picture byte-identical to what the device sent', async () => {
    for (const { fixture, eventId } of sent.filter((s) => s.fixture.endsWith('.http') && s.fixture !== OMITTED_JPEG)) {
      const capture = readFixture(fixture);
      const expected = imageParts(capture);
      const stored = await db.selectFrom('event_pictures').selectAll().where('event_id', '=', eventId).orderBy('position').execute();
      if (fixture.startsWith('smartacesso__')) continue; // deduplicated: pictures live with the first copy (checked below)
      expect(stored.length, fixture).toBe(expected.length);
      for (const [index, picture] of stored.entries()) {
        const onDisk = await readFile(join(world.dataDir, picture.path));
        expect(onDisk.equals(expected[index]!), `${fixture} picture ${index}`).toBe(true);
        expect(picture.sha256).toBe(createHash('sha256').update(onDisk).digest('hex'));
      }
    }
    const face = await db
      .selectFrom('event_pictures')
      .innerJoin('events', 'events.id', 'event_pictures.event_id')
      .select(['event_pictures.path', 'event_pictures.content_type'])
      .where('events.serial_no', '=', '42')
      .execute();
    expect(face).toHaveLength(1);
    expect(face[0]!.content_type).toBe('image/jpeg');

    const files = (await readdir(join(world.dataDir, 'pictures'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    const rows = await db.selectFrom('event_pictures').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    expect(files).toHaveLength(Number(rows.n));
  });

  it('writes one daily event log line per event and an access log line per access event', async () => {
    const logDir = join(world.dataDir, 'logs');
    const names = await readdir(logDir);
    const eventLines = (
      await Promise.all(names.filter((n) => n.startsWith('hikvision_events_')).map((n) => readFile(join(logDir, n), 'utf8')))
    )
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string });
    const ids = (await db.selectFrom('events').select('id').execute()).map((row) => row.id);
    expect(eventLines.map((line) => line.id).sort()).toEqual(ids.sort());

    const access = (await Promise.all(names.filter((n) => n.startsWith('Access Log ')).map((n) => readFile(join(logDir, n), 'utf8')))).join('');
    const accessLines = access.split('\n').filter(Boolean);
    expect(accessLines).toHaveLength(1);
    // The picture-less JSON copy of this event arrives first (fixtures go in name order), so its line
    // says so; the picture that came with the later multipart copy is attached to the row (checked above).
    expect(accessLines[0]).toBe('2023-12-01T02:48:43+08:00 | device cam 3 (bc:5e:33:5c:3a:db) | employee 3 | Boss | face verified | no picture');
  });

  it('stops gracefully on SIGTERM', async () => {
    expect(await system.stop()).toBe(0);
    expect(system.logs).toContain('service stopped');
  });
});
