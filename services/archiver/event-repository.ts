import { sql } from 'kysely';
import type { Db } from '../../libs/db/database.js';
import type { HikvisionEvent } from '../../libs/hikvision/event-model.js';
import { resolveDeviceTime } from '../../libs/hikvision/device-time.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { StoredPicture } from './picture-store.js';

/** How hikhub recognises one device across events: MAC, else serial number, else the address it posts from. */
export function deviceKeyOf(event: HikvisionEvent, remoteAddress: string): string {
  if (event.macAddress) return `mac:${event.macAddress}`;
  if (event.deviceSerial) return `serial:${event.deviceSerial}`;
  return `addr:${event.ipAddress ?? remoteAddress}`;
}

interface DeviceSighting {
  key: string;
  event: HikvisionEvent;
  remoteAddress: string;
  seenAt: Date;
}

async function upsertDevice(db: Db, sighting: DeviceSighting, kind: 'event' | 'heartbeat'): Promise<{ id: string; time_zone: string | null }> {
  const { event, seenAt } = sighting;
  return db
    .insertInto('devices')
    .values({
      device_key: sighting.key,
      mac_address: event.macAddress,
      ip_address: event.ipAddress,
      remote_address: sighting.remoteAddress,
      serial_number: event.deviceSerial,
      device_name: event.deviceName,
      first_seen_at: seenAt,
      last_seen_at: seenAt,
      last_event_at: kind === 'event' ? seenAt : null,
      last_heartbeat_at: kind === 'heartbeat' ? seenAt : null,
      heartbeat_count: kind === 'heartbeat' ? 1 : 0,
    })
    .onConflict((oc) =>
      oc.column('device_key').doUpdateSet({
        mac_address: sql`coalesce(excluded.mac_address, devices.mac_address)`,
        ip_address: sql`coalesce(excluded.ip_address, devices.ip_address)`,
        remote_address: sql`excluded.remote_address`,
        serial_number: sql`coalesce(excluded.serial_number, devices.serial_number)`,
        device_name: sql`coalesce(excluded.device_name, devices.device_name)`,
        last_seen_at: sql`greatest(devices.last_seen_at, excluded.last_seen_at)`,
        last_event_at: sql`greatest(devices.last_event_at, excluded.last_event_at)`,
        last_heartbeat_at: sql`greatest(devices.last_heartbeat_at, excluded.last_heartbeat_at)`,
        heartbeat_count: sql`devices.heartbeat_count + excluded.heartbeat_count`,
      }),
    )
    .returning(['id', 'time_zone'])
    .executeTakeFirstOrThrow();
}

/** A heartbeat only refreshes the device's liveness and counter. */
export async function recordHeartbeat(db: Db, sighting: DeviceSighting): Promise<void> {
  await upsertDevice(db, sighting, 'heartbeat');
}

export type InsertResult =
  /** A new row. */
  | 'inserted'
  /** This very event id is already archived (the job ran before and its ack was lost). */
  | 'already_archived'
  /** The device sent the same event again (same dedupe key) under a new request. */
  | 'duplicate'
  /** A resend that carries the pictures the first copy lacked: they are attached to the first copy. */
  | 'duplicate_pictures_adopted';

/** One transaction: the device, the event row and its pictures — all or nothing. */
export async function insertEvent(
  db: Db,
  raw: RawEvent,
  event: HikvisionEvent,
  pictures: StoredPicture[],
  options: { countAsHeartbeat: boolean },
): Promise<InsertResult> {
  const receivedAt = new Date(raw.receivedAt);
  return db.transaction().execute(async (trx) => {
    const device = await upsertDevice(
      trx,
      { key: deviceKeyOf(event, raw.remoteAddress), event, remoteAddress: raw.remoteAddress, seenAt: receivedAt },
      options.countAsHeartbeat ? 'heartbeat' : 'event',
    );
    const occurredAt = device.time_zone ? resolveDeviceTime(event.deviceTime, device.time_zone) : event.occurredAt;
    const inserted = await trx
      .insertInto('events')
      .values({
        id: raw.id,
        received_at: receivedAt,
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
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const same = await trx.selectFrom('events').select('id').where('id', '=', raw.id).executeTakeFirst();
      if (same) return 'already_archived';
      if (!pictures.length || event.dedupeKey === null) return 'duplicate';
      // Loses nothing: a first copy without pictures (e.g. the JSON alone) gets the resend's pictures.
      const first = await trx.selectFrom('events').select('id').where('dedupe_key', '=', event.dedupeKey).forUpdate().executeTakeFirst();
      if (!first) return 'duplicate';
      const existing = await trx.selectFrom('event_pictures').select('path').where('event_id', '=', first.id).execute();
      if (existing.some((row) => pictures.some((picture) => picture.path === row.path))) return 'duplicate_pictures_adopted'; // this job ran before
      if (existing.length) return 'duplicate';
      await insertPictures(trx, first.id, pictures);
      return 'duplicate_pictures_adopted';
    }
    await insertPictures(trx, raw.id, pictures);
    await trx
      .updateTable('devices')
      .set({ event_count: sql`event_count + 1` })
      .where('id', '=', device.id)
      .execute();
    return 'inserted';
  });
}

async function insertPictures(db: Db, eventId: string, pictures: StoredPicture[]): Promise<void> {
  if (!pictures.length) return;
  await db
    .insertInto('event_pictures')
    .values(
      pictures.map((picture) => ({
        event_id: eventId,
        position: picture.index,
        part_name: picture.partName,
        path: picture.path,
        bytes: picture.bytes,
        sha256: picture.sha256,
        content_type: picture.contentType,
      })),
    )
    .execute();
}

export async function isEventLogged(db: Db, eventId: string): Promise<boolean> {
  const row = await db.selectFrom('events').select('logged_at').where('id', '=', eventId).executeTakeFirst();
  return row?.logged_at != null;
}

export async function markEventLogged(db: Db, eventId: string): Promise<void> {
  await db.updateTable('events').set({ logged_at: new Date() }).where('id', '=', eventId).execute();
}

export async function isAlreadyHandled(db: Db, eventId: string): Promise<boolean> {
  const found = await db
    .selectFrom('events')
    .select('id')
    .where('id', '=', eventId)
    .unionAll(db.selectFrom('quarantined_events').select('id').where('id', '=', eventId))
    .executeTakeFirst();
  return found !== undefined;
}
