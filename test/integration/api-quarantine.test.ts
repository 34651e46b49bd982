import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import { accessEventDocument, newIdPrefix, notificationBody, pushingDevice } from '../../tools/simulator/event-documents.js';
import { multipartContentType } from '../../tools/simulator/multipart-body.js';
import { startEventsWorld, type EventsWorld } from '../helpers/events-api.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN_TOKEN = 'quarantine-admin-token-0123456789abcdef';
const BROKEN_XML = '<EventNotificationAlert><eventType>VMD</eventType><macAddress>ac:b9:2f:49:44:75';

/**
 * Quarantine listing, raw bytes, and re-runs through the real archiver. A parser fix cannot be
 * made inside a test, so the "fixed" case is a row as an older build would have left it: the
 * bytes of a valid face-terminal post with the reason that build gave (malformed_multipart).
 * The re-run must turn it into the same event a fresh post would be — same id, picture, dedupe.
 */
describe('admin API: quarantine and re-runs', () => {
  let w: EventsWorld;

  beforeAll(async () => {
    w = await startEventsWorld('api-quarantine', { ADMIN_TOKEN });
  });
  afterAll(async () => {
    await w?.close();
  });

  async function quarantineAsOlderBuild(body: Buffer, contentType: string): Promise<string> {
    const id = uuidV7(Date.now() - 3_600_000);
    const bodyPath = `quarantine/2020/01/01/${id}.bin`;
    await mkdir(join(w.env.DATA_DIR, 'quarantine/2020/01/01'), { recursive: true });
    await writeFile(join(w.env.DATA_DIR, bodyPath), body);
    await w.db
      .insertInto('quarantined_events')
      .values({
        id, received_at: new Date(Date.now() - 3_600_000), reason: 'part 1: no closing boundary (old parser)', reason_code: 'malformed_multipart',
        source_path: '/event/notification', remote_address: '10.1.2.3', content_type: contentType,
        headers: JSON.stringify({ 'content-type': contentType, method: 'POST', query: '' }), body_path: bodyPath, body_bytes: body.length,
        body_sha256: createHash('sha256').update(body).digest('hex'), reprocessed_at: null,
      })
      .execute();
    return id;
  }

  const row = (id: string) => w.db.selectFrom('quarantined_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('lists what the archiver quarantined, newest first, and serves its bytes', async () => {
    await w.postRaw('/hikvision/events', BROKEN_XML, 'application/xml');
    const listed = await waitFor(async () => (await w.request('GET', '/api/v1/quarantine?reasonCode=malformed_xml')).body.items[0], 15_000, 'quarantined payload');
    expect(listed).toMatchObject({ reasonCode: 'malformed_xml', sourcePath: '/hikvision/events', contentType: 'application/xml', bodyBytes: BROKEN_XML.length, reprocessedAt: null, reprocessOutcome: null });
    const body = await w.request('GET', `/api/v1/quarantine/${listed.id}/body`);
    expect(body.status).toBe(200);
    expect(body.headers.get('content-disposition')).toBe(`attachment; filename="${listed.id}.bin"`);
    expect(body.text).toBe(BROKEN_XML);
    expect((await w.request('GET', '/api/v1/quarantine?reasonCode=empty_body')).body.items).toEqual([]);
    expect((await w.request('GET', '/api/v1/quarantine?limit=0')).status).toBe(400);
    expect((await w.request('GET', `/api/v1/quarantine/${uuidV7()}/body`)).status).toBe(404);
  });

  it('pages the quarantine with a cursor', async () => {
    for (let i = 0; i < 3; i++) await w.postRaw('/hikvision/events', `${BROKEN_XML}${i}`, 'application/xml');
    await waitFor(async () => (await w.request('GET', '/api/v1/quarantine?limit=500')).body.items.length >= 4, 15_000, 'four rows');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await w.request('GET', `/api/v1/quarantine?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const all = (await w.request('GET', '/api/v1/quarantine?limit=500')).body.items.map((item: { id: string }) => item.id);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('re-runs a payload an older parser failed: it becomes the event a fresh post would be, once', async () => {
    const device = pushingDevice(7, newIdPrefix());
    const body = notificationBody(accessEventDocument(device, new Date(), true), w.face);
    const id = await quarantineAsOlderBuild(body, multipartContentType());

    const queued = await w.request('POST', `/api/v1/quarantine/${id}/reprocess`);
    expect(queued.status).toBe(202);
    expect(queued.body).toEqual({ jobId: `reprocess__${id}` });
    const done = await waitFor(async () => ((await row(id)).reprocess_outcome === 'archived' ? row(id) : null), 15_000, 're-run');
    expect(done.reprocessed_at).not.toBeNull();

    const event = await w.request('GET', `/api/v1/events/${id}`);
    expect(event.status).toBe(200);
    expect(event.body).toMatchObject({ id, eventType: 'AccessControllerEvent', sourcePath: '/event/notification', remoteAddress: '10.1.2.3', device: { macAddress: device.macAddress } });
    expect((await w.request('GET', event.body.pictures[0].url)).bytes.equals(w.face)).toBe(true);
    const listed = (await w.request('GET', '/api/v1/quarantine?reasonCode=malformed_multipart')).body.items[0];
    expect(listed).toMatchObject({ id, reprocessOutcome: 'archived' });

    // Running it again is harmless: still one event.
    expect((await w.request('POST', `/api/v1/quarantine/${id}/reprocess`)).status).toBe(202);
    await waitFor(async () => ((await row(id)).reprocessed_at! > done.reprocessed_at! ? true : null), 15_000, 'second re-run');
    expect((await row(id)).reprocess_outcome).toBe('archived');
    const count = await w.db.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('n')).where('id', '=', id).executeTakeFirstOrThrow();
    expect(count.n).toBe('1');
    // The Redis copy of the body used for the re-run is gone.
    expect(await w.redis.keys(`${w.env.QUEUE_PREFIX}:body:reprocess:*`)).toEqual([]);
  });

  it('records the new reason when the payload still fails, and bulk re-runs only what is not an event yet', async () => {
    const broken = (await w.request('GET', '/api/v1/quarantine?reasonCode=malformed_xml&limit=500')).body.items as { id: string }[];
    const target = broken.at(-1)!.id;
    await w.db.updateTable('quarantined_events').set({ reason: 'stale reason' }).where('id', '=', target).execute();
    expect((await w.request('POST', `/api/v1/quarantine/${target}/reprocess`)).status).toBe(202);
    const failed = await waitFor(async () => ((await row(target)).reprocess_outcome === 'still_failing' ? row(target) : null), 15_000, 'still failing');
    expect(failed.reason).not.toBe('stale reason');
    expect(failed.reason_code).toBe('malformed_xml');
    expect(await w.db.selectFrom('quarantined_events').select('id').where('id', '=', target).execute()).toHaveLength(1);

    const byCode = await w.request('POST', '/api/v1/quarantine/reprocess', { json: { reasonCode: 'malformed_xml' } });
    expect(byCode.status).toBe(202);
    expect(byCode.body).toEqual({ queued: broken.length });
    // Everything except the row that became an event.
    const all = await w.request('POST', '/api/v1/quarantine/reprocess');
    expect(all.body).toEqual({ queued: broken.length });
    await waitFor(async () => {
      const rows = await w.db.selectFrom('quarantined_events').select('reprocess_outcome').where('reason_code', '=', 'malformed_xml').execute();
      return rows.every((r) => r.reprocess_outcome === 'still_failing');
    }, 20_000, 'bulk re-run');
    expect((await w.request('POST', '/api/v1/quarantine/reprocess', { json: { reasonCode: 'Bad Code' } })).status).toBe(400);
    expect((await w.request('POST', `/api/v1/quarantine/${uuidV7()}/reprocess`)).status).toBe(404);
  });

  it('says so on the row when the stored body is gone, and bulk re-runs leave that row alone', async () => {
    const id = await quarantineAsOlderBuild(Buffer.from(BROKEN_XML), 'application/xml');
    await rm(join(w.env.DATA_DIR, (await row(id)).body_path));
    expect((await w.request('POST', `/api/v1/quarantine/${id}/reprocess`)).status).toBe(202);
    const marked = await waitFor(async () => ((await row(id)).reprocess_outcome === 'still_failing' ? row(id) : null), 15_000, 'the missing body to be recorded');
    expect(marked.reason_code).toBe('body_missing');
    expect(marked.reason).toMatch(/missing from DATA_DIR/);

    const all = await w.request('POST', '/api/v1/quarantine/reprocess');
    const candidates = await w.db.selectFrom('quarantined_events').select('id').where('reason_code', '!=', 'body_missing').where((eb) => eb.or([eb('reprocess_outcome', 'is', null), eb('reprocess_outcome', '=', 'still_failing')])).execute();
    expect(all.body).toEqual({ queued: candidates.length });
    // Asked for by its code, it is re-run (and found missing) again.
    expect((await w.request('POST', '/api/v1/quarantine/reprocess', { json: { reasonCode: 'body_missing' } })).body).toEqual({ queued: 1 });
  });
});
