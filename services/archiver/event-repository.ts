import { sql } from 'kysely';
import type { Db } from '../../libs/db/database.js';
import type { HikvisionEvent } from '../../libs/hikvision/event-model.js';
import { resolveDeviceTime } from '../../libs/hikvision/device-time.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { KnownDevice } from './device-registry.js';
import type { StoredPicture } from './picture-store.js';

export type InsertResult =
  /** A new row. */
  | 'inserted'
  /** This very event id is already archived (the job ran before and its ack was lost). */
  | 'already_archived'
  /** The device sent the same event again (same dedupe key) under a new request. */
  | 'duplicate'
  /** A resend that carries the pictures the first copy lacked: they are attached to the first copy. */
  | 'duplicate_pictures_adopted';

/**
 * The event row and its pictures in one statement (so one round trip and one commit, atomic by
 * itself). Only a conflict — the same id again, or the same event resent — takes a second look.
 */
export async function insertEvent(db: Db, raw: RawEvent, event: HikvisionEvent, pictures: StoredPicture[], device: KnownDevice): Promise<InsertResult> {
  const occurredAt = device.timeZone ? resolveDeviceTime(event.deviceTime, device.timeZone) : event.occurredAt;
  const insertRow = db
    .insertInto('events')
    .values({
      id: raw.id,
      received_at: new Date(raw.receivedAt),
      occurred_at: occurredAt,
      device_time: event.deviceTime,
      event_type: event.eventType,
      event_state: event.eventState,
      event_family: event.family,
      mac_address: event.macAddress,
      ip_address: event.ipAddress,
      remote_address: raw.remoteAddress,
      device_id: device.id,
      channel_id: event.channelId,
      channel_name: event.channelName,
      source_path: raw.path,
      major_event_type: event.majorEventType,
      minor_event_type: event.minorEventType,
      employee_no: event.employeeNo,
      person_name: event.personName,
      card_no: event.cardNo,
      serial_no: event.serialNo,
      license_plate: event.licensePlate,
      verify_result: event.verifyResult,
      dedupe_key: event.dedupeKey,
      payload: JSON.stringify(event.document),
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id');
  const { rows } = await sql<{ id: string }>`
    with inserted as (${insertRow}),
    pictures as (
      insert into event_pictures (event_id, position, part_name, path, bytes, sha256, content_type)
      select inserted.id, p.position, p.part_name, p.path, p.bytes, p.sha256, p.content_type
      from inserted cross join unnest(
        ${pictures.map((pic) => pic.index)}::int[], ${pictures.map((pic) => pic.partName)}::text[], ${pictures.map((pic) => pic.path)}::text[],
        ${pictures.map((pic) => pic.bytes)}::int[], ${pictures.map((pic) => pic.sha256)}::text[], ${pictures.map((pic) => pic.contentType)}::text[]
      ) as p(position, part_name, path, bytes, sha256, content_type)
    )
    select id from inserted`.execute(db);
  if (rows.length) return 'inserted';
  return resolveConflict(db, raw, event, pictures);
}

/** Why the insert did nothing: a re-run of this job, or a resend — which may bring pictures the first copy lacked. */
async function resolveConflict(db: Db, raw: RawEvent, event: HikvisionEvent, pictures: StoredPicture[]): Promise<InsertResult> {
  return db.transaction().execute(async (trx) => {
    const same = await trx.selectFrom('events').select('id').where('id', '=', raw.id).executeTakeFirst();
    if (same) return 'already_archived';
    if (!pictures.length || event.dedupeKey === null) return 'duplicate';
    const first = await trx.selectFrom('events').select('id').where('dedupe_key', '=', event.dedupeKey).forUpdate().executeTakeFirst();
    if (!first) return 'duplicate';
    const existing = await trx.selectFrom('event_pictures').select('path').where('event_id', '=', first.id).execute();
    if (existing.some((row) => pictures.some((picture) => picture.path === row.path))) return 'duplicate_pictures_adopted'; // this job ran before
    if (existing.length) return 'duplicate';
    await trx
      .insertInto('event_pictures')
      .values(
        pictures.map((picture) => ({
          event_id: first.id,
          position: picture.index,
          part_name: picture.partName,
          path: picture.path,
          bytes: picture.bytes,
          sha256: picture.sha256,
          content_type: picture.contentType,
        })),
      )
      .execute();
    return 'duplicate_pictures_adopted';
  });
}

export async function isEventLogged(db: Db, eventId: string): Promise<boolean> {
  const row = await db.selectFrom('events').select('logged_at').where('id', '=', eventId).executeTakeFirst();
  return row?.logged_at != null;
}

/**
 * Records that events' log lines are written. Callers await their own id; ids arriving while an
 * UPDATE is in flight go together in the next one (group commit), so a busy archiver pays one
 * statement for many events instead of one each.
 */
export function createLoggedMarker(db: Db) {
  let waiting: { id: string; done: () => void; fail: (error: unknown) => void }[] = [];
  let inFlight: Promise<void> | undefined;

  const run = async (): Promise<void> => {
    while (waiting.length) {
      const batch = waiting;
      waiting = [];
      try {
        await db.updateTable('events').set({ logged_at: new Date() }).where('id', 'in', batch.map((entry) => entry.id)).execute();
        for (const entry of batch) entry.done();
      } catch (error) {
        for (const entry of batch) entry.fail(error);
      }
    }
    inFlight = undefined;
  };

  return function markLogged(eventId: string): Promise<void> {
    return new Promise<void>((done, fail) => {
      waiting.push({ id: eventId, done, fail });
      inFlight ??= run();
    });
  };
}

export type MarkLogged = ReturnType<typeof createLoggedMarker>;

export async function isAlreadyHandled(db: Db, eventId: string): Promise<boolean> {
  const found = await db
    .selectFrom('events')
    .select('id')
    .where('id', '=', eventId)
    .unionAll(db.selectFrom('quarantined_events').select('id').where('id', '=', eventId))
    .executeTakeFirst();
  return found !== undefined;
}
