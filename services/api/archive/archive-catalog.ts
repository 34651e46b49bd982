import { sql } from 'kysely';
import type { Db } from '../../../libs/db/database.js';
import type { ObservedDeviceRef } from './event-summary.js';

/**
 * The distinct event types present, without reading the events: a loose index scan (each step
 * jumps to the next type in the (event_type, received_at, id) index), then the family of each
 * type's newest event. Cost grows with the number of types (tens), not of events (millions).
 */
export async function distinctEventTypes(db: Db): Promise<{ eventType: string; eventFamily: string }[]> {
  const { rows } = await sql<{ event_type: string; event_family: string }>`
    with recursive types as (
      (select event_type from events where event_type is not null order by event_type limit 1)
      union all
      select (select e.event_type from events e where e.event_type > types.event_type order by e.event_type limit 1)
      from types where types.event_type is not null
    )
    select types.event_type, newest.event_family
    from types
    cross join lateral (
      select e.event_family from events e where e.event_type = types.event_type order by e.received_at desc, e.id desc limit 1
    ) newest
    where types.event_type is not null
    order by types.event_type`.execute(db);
  return rows.map((row) => ({ eventType: row.event_type, eventFamily: row.event_family }));
}

/** A device as seen posting events: what an event names about it, plus when and how often. */
export interface ObservedDevice extends ObservedDeviceRef {
  remoteAddress: string | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  lastEventAt: Date | null;
  lastHeartbeatAt: Date | null;
  eventCount: number;
  heartbeatCount: number;
}

/** At most this many devices are listed (most recently seen first); a fleet is far smaller. */
export const OBSERVED_DEVICES_LIMIT = 10_000;

/** Devices that have posted to hikhub (the archive's devices table), most recently seen first. */
export async function observedDevices(db: Db): Promise<ObservedDevice[]> {
  const rows = await db.selectFrom('devices').selectAll().orderBy('last_seen_at', 'desc').orderBy('id', 'desc').limit(OBSERVED_DEVICES_LIMIT).execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.device_name,
    model: row.model,
    serialNumber: row.serial_number,
    ipAddress: row.ip_address,
    macAddress: row.mac_address,
    remoteAddress: row.remote_address,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    lastEventAt: row.last_event_at,
    lastHeartbeatAt: row.last_heartbeat_at,
    eventCount: Number(row.event_count),
    heartbeatCount: Number(row.heartbeat_count),
  }));
}
