import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, ensureDatabaseExists, type Db } from '../../libs/db/database.js';
import { migrateToLatest } from '../../libs/db/migrator.js';
import { parseRequest } from '../../libs/hikvision/parse-request.js';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import { createLogger } from '../../libs/logger/logger.js';
import { createEventRepository, type EventToInsert } from '../../services/archiver/event-repository.js';
import type { StoredPicture } from '../../services/archiver/picture-store.js';
import { createTestDatabaseUrl } from '../helpers/database.js';
import { freePort } from '../helpers/redis-server.js';

const access = (serialNo: number, name = 'Ada') =>
  JSON.stringify({ macAddress: '02:00:00:00:0b:01', eventType: 'AccessControllerEvent', AccessControllerEvent: { majorEventType: 5, subEventType: 75, name, serialNo } });
const motion = (channel: string) => `<EventNotificationAlert><macAddress>02:00:00:00:0b:02</macAddress><eventType>VMD</eventType><channelID>${channel}</channelID></EventNotificationAlert>`;

/**
 * The batched event writes against the real Postgres: rows of one flush must come out exactly
 * as if they had been inserted one after the other (ids, dedupe keys, pictures adopted by a
 * resend), a row Postgres refuses must fail alone, and an outage must reach every caller as it is.
 */
describe('event repository: one INSERT per batch, each row its own fate', () => {
  let database: Awaited<ReturnType<typeof createTestDatabaseUrl>>;
  let db: Db;
  let deviceId: string;
  const sizes: number[] = [];

  beforeAll(async () => {
    database = await createTestDatabaseUrl('event_batch');
    await ensureDatabaseExists(database.url);
    db = createDb(database.url, 4);
    await migrateToLatest(db, createLogger('test', 'silent'));
    const device = await db.insertInto('devices').values({ device_key: 'mac:02:00:00:00:0b:01', first_seen_at: new Date(), last_seen_at: new Date() }).returning('id').executeTakeFirstOrThrow();
    deviceId = device.id;
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const row = async (body: string, contentType: string, pictures: StoredPicture[] = [], id = uuidV7()): Promise<EventToInsert> => {
    const raw: RawEvent = {
      v: 1, id, receivedAt: new Date().toISOString(), remoteAddress: '10.0.0.11', method: 'POST', path: '/batch', query: '',
      headers: { 'content-type': contentType }, body: { key: `unused:${id}`, bytes: body.length, chunks: 1 },
    };
    const { event } = await parseRequest({ contentType, body: Buffer.from(body) });
    return { raw, event, pictures, device: { id: deviceId, timeZone: null } };
  };
  const picture = (eventId: string): StoredPicture => ({ index: 0, partName: 'Picture', path: `pictures/t/${eventId}-0.jpg`, bytes: 10, sha256: 'ab', contentType: 'image/jpeg' });
  const repository = () => createEventRepository(db, { observeBatch: (write, size) => write === 'events' && sizes.push(size) });

  it('resolves a batch as sequential inserts would: first copy wins, a re-run is already archived', async () => {
    const events = repository();
    const first = await row(access(1), 'application/json');
    const resend = await row(access(1, 'Ada again'), 'application/json');
    const other = await row(access(2), 'application/json');
    sizes.length = 0;
    const results = await Promise.all([events.insert(first), events.insert(resend), events.insert(other), events.insert(first)]);
    expect(sizes).toEqual([4]); // one statement for all four
    expect(results).toEqual(['inserted', 'duplicate', 'inserted', 'already_archived']);
    const stored = await db.selectFrom('events').select(['id', 'person_name']).where('serial_no', '=', '1').execute();
    expect(stored).toEqual([{ id: first.raw.id, person_name: 'Ada' }]);
    expect(await events.insert(other)).toBe('already_archived'); // the job again, after its ack was lost
  });

  it('lets a resend in the same batch bring the picture the first copy lacked, once', async () => {
    const events = repository();
    const bare = await row(access(3), 'application/json');
    const resendId = uuidV7();
    const withPicture = await row(access(3), 'application/json', [picture(resendId)], resendId);
    const againId = uuidV7();
    const again = await row(access(3), 'application/json', [picture(againId)], againId);
    const results = await Promise.all([events.insert(bare), events.insert(withPicture), events.insert(again)]);
    expect(results).toEqual(['inserted', 'duplicate_pictures_adopted', 'duplicate']);
    const pictures = await db.selectFrom('event_pictures').select(['event_id', 'path']).where('event_id', '=', bare.raw.id).execute();
    expect(pictures).toEqual([{ event_id: bare.raw.id, path: picture(resendId).path }]);
    expect(await events.insert(withPicture)).toBe('duplicate_pictures_adopted'); // that resend's job again
  });

  it('fails only the row Postgres cannot store; the rest of its batch is written', async () => {
    const events = repository();
    const good = await row(motion('1'), 'application/xml');
    const bad = await row(motion('999999999999999'), 'application/xml');
    const alsoGood = await row(motion('2'), 'application/xml');
    const results = await Promise.allSettled([events.insert(good), events.insert(bad), events.insert(alsoGood)]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: '22003' });
    const stored = await db.selectFrom('events').select('id').where('id', 'in', [good.raw.id, bad.raw.id, alsoGood.raw.id]).execute();
    expect(stored.map((r) => r.id).sort()).toEqual([good.raw.id, alsoGood.raw.id].sort());
  });

  it('marks logged rows in one statement', async () => {
    const events = repository();
    const rows = await Promise.all([1, 2, 3].map((n) => row(motion(String(10 + n)), 'application/xml')));
    await Promise.all(rows.map((r) => events.insert(r)));
    await Promise.all(rows.map((r) => events.markLogged(r.raw.id)));
    for (const r of rows) expect(await events.isEventLogged(r.raw.id)).toBe(true);
  });

  it('gives every caller of a batch the original error when Postgres is unreachable', async () => {
    // Nothing listens on this port: the pool's connect fails as it would in an outage.
    const unreachable = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/none`, 2);
    try {
      const events = createEventRepository(unreachable);
      const rows = await Promise.all([1, 2, 3].map((n) => row(motion(String(n)), 'application/xml')));
      const errors = await Promise.all(rows.map((r) => events.insert(r).then(() => null, (error: unknown) => error)));
      expect(errors[0]).toMatchObject({ code: 'ECONNREFUSED' });
      expect(errors.every((error) => error === errors[0])).toBe(true);
    } finally {
      await unreachable.destroy();
    }
  });
});
