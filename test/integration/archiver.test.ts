import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyKey, writeBody } from '../../libs/jobs/body-store.js';
import { rawEventV1Schema, type RawEvent } from '../../libs/jobs/raw-event.js';
import { createLogger } from '../../libs/logger/logger.js';
import { createRegistry } from '../../libs/metrics/registry.js';
import { createArchiveHandler } from '../../services/archiver/archive-event.js';
import { createDailyLogs, localDay } from '../../services/archiver/daily-logs.js';
import { createDeviceRegistry } from '../../services/archiver/device-registry.js';
import { createBodyCleanup } from '../../services/archiver/body-cleanup.js';
import { createEventRepository } from '../../services/archiver/event-repository.js';
import { createArchiverMetrics } from '../../services/archiver/metrics.js';
import { createPictureStore } from '../../services/archiver/picture-store.js';
import { createQuarantine } from '../../services/archiver/quarantine.js';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { waitFor } from '../helpers/wait.js';
import { haveFixtures, readFixture, splitHttpCapture } from '../helpers/fixtures.js';
import { startTestIngest } from '../helpers/ingest.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';

const VMD = (mac: string, count = 1) =>
  `<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><ipAddress>10.0.0.7</ipAddress><macAddress>${mac}</macAddress><channelID>1</channelID><dateTime>2025-04-06T14:16:04+02:00</dateTime><activePostCount>${count}</activePostCount><eventType>VMD</eventType><eventState>active</eventState></EventNotificationAlert>`;
const HEARTBEAT = `<EventNotificationAlert><macAddress>AA:BB:CC:00:00:09</macAddress><dateTime>2025-04-06T14:16:04+02:00</dateTime><eventType>videoloss</eventType><eventState>inactive</eventState><activePostCount>0</activePostCount></EventNotificationAlert>`;
const FACE_CAPTURE = 'smartacesso__face_terminal_event_log_multipart_replayable.http';

describe('archiver against the real Redis and Postgres', async () => {
  const world = await createTestWorld('archiver');
  const { db, redis, queue } = world;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let archiver: Awaited<ReturnType<typeof startTestArchiver>>;

  beforeAll(async () => {
    archiver = await startTestArchiver({ ...world.env, ARCHIVER_CONCURRENCY: '4' });
    ingest = await startTestIngest({ QUEUE_PREFIX: world.prefix });
  });

  afterAll(async () => {
    await ingest?.stop();
    await archiver?.stop();
    await world.teardown();
  });

  const post = async (path: string, body: Buffer | string, contentType = 'application/xml') => {
    const response = await sendRaw(ingest.port, buildPost(path, body, { 'Content-Type': contentType }));
    expect(response?.status).toBe(200);
  };
  const drained = () =>
    waitFor(async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((count) => count === 0);
    }, 20_000, 'queue to drain');
  const eventLog = async () => {
    const text = await readFile(join(world.dataDir, 'logs', `hikvision_events_${localDay(new Date())}.log`), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id: string });
  };

  it('archives an XML event: row, device, daily log line, body gone from Redis', async () => {
    await post('/hikvision/events', VMD('AC:B9:2F:49:44:75'));
    await drained();
    const row = await db.selectFrom('events').selectAll().where('mac_address', '=', 'ac:b9:2f:49:44:75').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ event_type: 'VMD', event_family: 'motion', channel_id: 1, source_path: '/hikvision/events', device_time: '2025-04-06T14:16:04+02:00' });
    expect(row.occurred_at?.toISOString()).toBe('2025-04-06T12:16:04.000Z');
    expect(row.logged_at).not.toBeNull();
    // Device counters are flushed about once a second.
    const device = await waitFor(() => db.selectFrom('devices').selectAll().where('id', '=', row.device_id!).where('event_count', '=', '1').executeTakeFirst(), 5_000, 'device counters');
    expect(device).toMatchObject({ device_key: 'mac:ac:b9:2f:49:44:75', ip_address: '10.0.0.7' });
    expect(device.last_event_at?.toISOString()).toBe(row.received_at.toISOString());
    expect((await eventLog()).filter((line) => line.id === row.id)).toHaveLength(1);
    expect(await redis.exists(bodyKey(world.prefix, row.id))).toBe(0);
  });

  it.skipIf(!haveFixtures)('archives a face terminal event with its picture byte for byte and an access log line', async () => {
    const capture = readFixture(FACE_CAPTURE);
    const response = await sendRaw(ingest.port, capture);
    expect(response?.status).toBe(200);
    await drained();
    const row = await db.selectFrom('events').selectAll().where('serial_no', '=', '42').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ employee_no: '3', person_name: 'Boss', card_no: '1768', major_event_type: 5, minor_event_type: 75, source_path: '/event/notification' });
    const pictures = await db.selectFrom('event_pictures').selectAll().where('event_id', '=', row.id).execute();
    expect(pictures).toHaveLength(1);
    const onDisk = await readFile(join(world.dataDir, pictures[0]!.path));
    const { body } = splitHttpCapture(capture);
    const start = body.indexOf('Content-ID: pictureImage\r\n\r\n') + 'Content-ID: pictureImage\r\n\r\n'.length;
    const sent = body.subarray(start, body.indexOf('\r\n--MIME_boundary--'));
    expect(onDisk.equals(sent)).toBe(true);
    expect(pictures[0]).toMatchObject({ bytes: sent.length, content_type: 'image/jpeg', sha256: createHash('sha256').update(sent).digest('hex') });
    expect(pictures[0]!.path).toMatch(new RegExp(`^pictures/\\d{4}/\\d{2}/\\d{2}/${row.id}-0\\.jpg$`));
    const accessLog = await readFile(join(world.dataDir, 'logs', `Access Log ${localDay(new Date())}.log`), 'utf8');
    expect(accessLog).toContain(`employee 3 | Boss | face verified | ${pictures[0]!.path}`);
  });

  it.skipIf(!haveFixtures)('keeps one row when the device sends the same access event again (same serialNo)', async () => {
    const before = await db.selectFrom('events').select(sql<string>`count(*)`.as('n')).where('serial_no', '=', '42').executeTakeFirstOrThrow();
    const response = await sendRaw(ingest.port, readFixture(FACE_CAPTURE));
    expect(response?.status).toBe(200);
    await drained();
    const after = await db.selectFrom('events').select(sql<string>`count(*)`.as('n')).where('serial_no', '=', '42').executeTakeFirstOrThrow();
    expect(before.n).toBe('1');
    expect(after.n).toBe('1');
    const pictures = await db.selectFrom('event_pictures').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    expect(pictures.n).toBe('1');
  });

  it('keeps heartbeats out of the events table and counts them on the device', async () => {
    await post('/hb', HEARTBEAT);
    await post('/hb', HEARTBEAT);
    await drained();
    const device = await waitFor(
      () => db.selectFrom('devices').selectAll().where('device_key', '=', 'mac:aa:bb:cc:00:00:09').where('heartbeat_count', '=', '2').executeTakeFirst(),
      5_000,
      'heartbeat counter',
    );
    expect(device.last_heartbeat_at).not.toBeNull();
    expect(await db.selectFrom('events').select('id').where('mac_address', '=', 'aa:bb:cc:00:00:09').execute()).toHaveLength(0);
  });

  it('quarantines what cannot be parsed, with its bytes and reason, and loses nothing', async () => {
    const garbage = Buffer.from([0x00, 0x01, 0x02, 0xff, 0x3c, 0x3e]);
    await post('/weird', garbage, 'application/octet-stream');
    await post('/config', '<HttpHostNotificationList><HttpHostNotification><id>1</id></HttpHostNotification></HttpHostNotificationList>');
    await drained();
    // `curl -X POST` with no body, as the deployment guide's smoke test does.
    expect((await sendRaw(ingest.port, 'POST /smoke HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))?.status).toBe(200);
    await drained();
    const rows = await db.selectFrom('quarantined_events').selectAll().orderBy('received_at').execute();
    expect(rows.map((row) => [row.source_path, row.reason_code])).toEqual([
      ['/weird', 'unsupported_content_type'],
      ['/config', 'not_an_event'],
      ['/smoke', 'empty_body'],
    ]);
    expect((await readFile(join(world.dataDir, rows[0]!.body_path))).equals(garbage)).toBe(true);
    expect(rows[0]!.body_sha256).toBe(createHash('sha256').update(garbage).digest('hex'));
    expect(rows[1]!.reason).toContain('HttpHostNotificationList');
    expect(await redis.exists(bodyKey(world.prefix, rows[0]!.id))).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${archiver.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/hikhub_archiver_parse_failures_total\{code="not_an_event",service="archiver"\} 1/);
    expect(metrics).toMatch(/hikhub_queue_jobs\{queue="events",state="waiting",service="archiver"\} 0/);
    const ingestMetrics = await (await fetch(`http://127.0.0.1:${ingest.metricsPort}/metrics`)).text();
    expect(ingestMetrics).toMatch(/hikhub_queue_workers\{queue="events",service="ingest"\} 1/);
  });

  /** The archive handler itself, wired to this file's world, for tests that drive it job by job. */
  const directHandler = (options: { archiveHeartbeats: boolean; defaultTimeZone?: string }) =>
    createArchiveHandler({
      redis,
      bodies: createBodyCleanup(redis),
      events: createEventRepository(db),
      devices: createDeviceRegistry(db, createLogger('test', 'silent')),
      pictures: createPictureStore(world.dataDir),
      logs: createDailyLogs(world.dataDir),
      quarantine: createQuarantine(db, world.dataDir),
      metrics: createArchiverMetrics(createRegistry('test')),
      logger: createLogger('test', 'silent'),
      archiveHeartbeats: options.archiveHeartbeats,
      defaultTimeZone: options.defaultTimeZone,
    });

  /** Store a body and its envelope as ingest would. */
  const envelopeFor = async (id: string, body: Buffer | string, contentType: string): Promise<RawEvent> => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const key = bodyKey(world.prefix, id);
    const chunks = await writeBody(redis, key, bytes);
    return rawEventV1Schema.parse({
      v: 1, id, receivedAt: new Date().toISOString(), remoteAddress: '10.0.0.9', method: 'POST', path: '/direct', query: '',
      headers: { 'content-type': contentType }, body: { key, bytes: bytes.length, chunks },
    });
  };

  it('stores heartbeats as events when ARCHIVE_HEARTBEATS=true, and reads offset-less times in the configured zone', async () => {
    const handler = directHandler({ archiveHeartbeats: true, defaultTimeZone: 'Europe/Paris' });
    const heartbeat = `<EventNotificationAlert><macAddress>02:00:00:00:00:77</macAddress><dateTime>2025-07-01T10:00:00</dateTime><eventType>heartBeat</eventType></EventNotificationAlert>`;
    const raw = await envelopeFor('01938000-0000-7000-8000-000000000077', heartbeat, 'application/xml');
    expect(await handler(raw)).toEqual({ outcome: 'archived' });
    const row = await db.selectFrom('events').selectAll().where('id', '=', raw.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ event_type: 'heartBeat', event_family: 'heartbeat', device_time: '2025-07-01T10:00:00' });
    expect(row.occurred_at?.toISOString()).toBe('2025-07-01T08:00:00.000Z'); // Paris is UTC+2 in July
  });

  it('stores text with NULs and broken surrogates, and quarantines values Postgres cannot hold', async () => {
    const handler = directHandler({ archiveHeartbeats: false });
    const dirty = JSON.stringify({
      macAddress: '02:00:00:00:00:88',
      eventType: 'AccessControllerEvent',
      AccessControllerEvent: { majorEventType: 5, subEventType: 1, name: 'Ada\u0000 \ud800Lovelace', serialNo: 7 },
    });
    const raw = await envelopeFor('01938000-0000-7000-8000-000000000088', dirty, 'application/json');
    expect(await handler(raw)).toEqual({ outcome: 'archived' });
    const row = await db.selectFrom('events').select(['person_name', 'payload']).where('id', '=', raw.id).executeTakeFirstOrThrow();
    expect(row.person_name).toBe('Ada \ufffdLovelace');

    const huge = '<EventNotificationAlert><eventType>VMD</eventType><channelID>999999999999999</channelID></EventNotificationAlert>';
    const unstorable = await envelopeFor('01938000-0000-7000-8000-000000000089', huge, 'application/xml');
    expect(await handler(unstorable)).toEqual({ outcome: 'quarantined' });
    const quarantined = await db.selectFrom('quarantined_events').selectAll().where('id', '=', unstorable.id).executeTakeFirstOrThrow();
    expect(quarantined.reason_code).toBe('unstorable');
    expect(quarantined.reason).toMatch(/out of range/);
  });

  it('leaves one row, one file per picture and one log line when a job runs twice', async () => {
    // The same job delivered again after a crash between commit and ack: run the handler twice on one envelope.
    const handler = directHandler({ archiveHeartbeats: false });
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2_000, 7), Buffer.from([0xff, 0xd9])]);
    const multipart = Buffer.concat([
      Buffer.from(`--b\r\nContent-Disposition: form-data; name="MoveDetection.xml"\r\nContent-Type: application/xml\r\n\r\n${VMD('02:00:00:00:00:42')}\r\n--b\r\nContent-Disposition: form-data; name="Picture"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      jpeg,
      Buffer.from('\r\n--b--\r\n'),
    ]);
    const envelope: RawEvent = rawEventV1Schema.parse({
      v: 1,
      id: '01938000-0000-7000-8000-000000000042',
      receivedAt: new Date().toISOString(),
      remoteAddress: '10.0.0.42',
      method: 'POST',
      path: '/twice',
      query: '',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
      body: { key: bodyKey(world.prefix, '01938000-0000-7000-8000-000000000042'), bytes: multipart.length, chunks: 1 },
    });
    const store = async () => {
      envelope.body.chunks = await writeBody(redis, envelope.body.key, multipart);
    };
    await store();
    expect(await handler(envelope)).toEqual({ outcome: 'archived' });
    await store(); // the body is back as if the first run crashed before deleting it
    expect(await handler(envelope)).toEqual({ outcome: 'already_archived' });
    expect(await handler(envelope)).toEqual({ outcome: 'already_archived' }); // and with the body already gone
    expect(await db.selectFrom('events').select('id').where('id', '=', envelope.id).execute()).toHaveLength(1);
    const pictures = await db.selectFrom('event_pictures').selectAll().where('event_id', '=', envelope.id).execute();
    expect(pictures).toHaveLength(1);
    expect((await readFile(join(world.dataDir, pictures[0]!.path))).equals(jpeg)).toBe(true);
    expect((await eventLog()).filter((line) => line.id === envelope.id)).toHaveLength(1);
  });
});
