import { sql } from 'kysely';
import type { Db } from '../../libs/db/database.js';
import type { HikvisionEvent } from '../../libs/hikvision/event-model.js';
import { createPeriodicTask } from '../../libs/lifecycle/periodic-task.js';
import type { Logger } from '../../libs/logger/logger.js';

/** How hikhub recognises one device across events: MAC, else serial number, else the address it posts from. */
export function deviceKeyOf(event: HikvisionEvent, remoteAddress: string): string {
  if (event.macAddress) return `mac:${event.macAddress}`;
  if (event.deviceSerial) return `serial:${event.deviceSerial}`;
  return `addr:${event.ipAddress ?? remoteAddress}`;
}

export interface DeviceSighting {
  event: HikvisionEvent;
  remoteAddress: string;
  seenAt: Date;
}

export interface KnownDevice {
  id: string;
  timeZone: string | null;
}

interface CachedDevice extends KnownDevice {
  refreshedAt: number;
}

interface PendingActivity {
  events: number;
  heartbeats: number;
  lastSeen: Date;
  lastEvent: Date | null;
  lastHeartbeat: Date | null;
  remoteAddress: string;
}

const MAX_CACHED_DEVICES = 100_000;

/**
 * The devices table without a write per event. A device row is upserted when first seen and
 * refreshed every `refreshMs` (identity fields, time zone); counters and last-seen times are
 * summed in memory and flushed in one statement every `flushMs`. Events from one busy device
 * therefore never queue behind its row lock, and an NVR's heartbeat flood costs no writes.
 * A crash loses at most one flush interval of counter increments; `events` stays exact.
 */
export function createDeviceRegistry(db: Db, logger: Logger, options: { refreshMs?: number; flushMs?: number } = {}) {
  const refreshMs = options.refreshMs ?? 30_000;
  const flushMs = options.flushMs ?? 1_000;
  const cache = new Map<string, CachedDevice>();
  let pending = new Map<string, PendingActivity>();

  async function upsert(key: string, sighting: DeviceSighting): Promise<CachedDevice> {
    const { event, seenAt } = sighting;
    const row = await db
      .insertInto('devices')
      .values({
        device_key: key,
        mac_address: event.macAddress,
        ip_address: event.ipAddress,
        remote_address: sighting.remoteAddress,
        serial_number: event.deviceSerial,
        device_name: event.deviceName,
        first_seen_at: seenAt,
        last_seen_at: seenAt,
      })
      .onConflict((oc) =>
        oc.column('device_key').doUpdateSet({
          mac_address: sql`coalesce(excluded.mac_address, devices.mac_address)`,
          ip_address: sql`coalesce(excluded.ip_address, devices.ip_address)`,
          remote_address: sql`excluded.remote_address`,
          serial_number: sql`coalesce(excluded.serial_number, devices.serial_number)`,
          device_name: sql`coalesce(excluded.device_name, devices.device_name)`,
          last_seen_at: sql`greatest(devices.last_seen_at, excluded.last_seen_at)`,
        }),
      )
      .returning(['id', 'time_zone'])
      .executeTakeFirstOrThrow();
    const device = { id: row.id, timeZone: row.time_zone, refreshedAt: Date.now() };
    if (cache.size >= MAX_CACHED_DEVICES) cache.delete(cache.keys().next().value!);
    cache.set(key, device);
    return device;
  }

  async function flush(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const ids = [...batch.keys()].sort();
    const rows = ids.map((id) => batch.get(id)!);
    try {
      await sql`
        update devices d set
          event_count = d.event_count + v.events,
          heartbeat_count = d.heartbeat_count + v.heartbeats,
          last_seen_at = greatest(d.last_seen_at, v.last_seen),
          last_event_at = greatest(d.last_event_at, v.last_event),
          last_heartbeat_at = greatest(d.last_heartbeat_at, v.last_heartbeat),
          remote_address = v.remote_address
        from unnest(
          ${ids}::bigint[], ${rows.map((r) => r.events)}::bigint[], ${rows.map((r) => r.heartbeats)}::bigint[],
          ${rows.map((r) => r.lastSeen.toISOString())}::timestamptz[], ${rows.map((r) => r.lastEvent?.toISOString() ?? null)}::timestamptz[],
          ${rows.map((r) => r.lastHeartbeat?.toISOString() ?? null)}::timestamptz[], ${rows.map((r) => r.remoteAddress)}::text[]
        ) as v(id, events, heartbeats, last_seen, last_event, last_heartbeat, remote_address)
        where d.id = v.id`.execute(db);
    } catch (error) {
      // Postgres away or a deadlock with another replica: keep the activity for the next flush.
      for (const [id, activity] of batch) merge(id, activity);
      throw error;
    }
  }

  function merge(id: string, activity: PendingActivity): void {
    const current = pending.get(id);
    if (!current) {
      pending.set(id, activity);
      return;
    }
    current.events += activity.events;
    current.heartbeats += activity.heartbeats;
    current.lastSeen = later(current.lastSeen, activity.lastSeen)!;
    current.lastEvent = later(current.lastEvent, activity.lastEvent);
    current.lastHeartbeat = later(current.lastHeartbeat, activity.lastHeartbeat);
    current.remoteAddress = activity.remoteAddress;
  }

  // A failed flush keeps its activity for the next one (see flush); flushes never overlap.
  const flusher = createPeriodicTask({ name: 'device activity flush', intervalMs: flushMs, run: flush, logger });

  return {
    /** The device's row (created on first sight), from cache when fresh. */
    async resolve(sighting: DeviceSighting): Promise<KnownDevice> {
      const key = deviceKeyOf(sighting.event, sighting.remoteAddress);
      const cached = cache.get(key);
      if (cached && Date.now() - cached.refreshedAt < refreshMs) return cached;
      return upsert(key, sighting);
    },
    /** Count an archived event or a heartbeat for the device; written at the next flush. */
    record(device: KnownDevice, kind: 'event' | 'heartbeat', sighting: DeviceSighting): void {
      merge(device.id, {
        events: kind === 'event' ? 1 : 0,
        heartbeats: kind === 'heartbeat' ? 1 : 0,
        lastSeen: sighting.seenAt,
        lastEvent: kind === 'event' ? sighting.seenAt : null,
        lastHeartbeat: kind === 'heartbeat' ? sighting.seenAt : null,
        remoteAddress: sighting.remoteAddress,
      });
    },
    /** Drop a cached row (e.g. the device was deleted and an insert hit the foreign key). */
    forget(sighting: DeviceSighting): void {
      cache.delete(deviceKeyOf(sighting.event, sighting.remoteAddress));
    },
    flush: () => flusher.runNow(),
    start(): void {
      flusher.start();
    },
    async stop(): Promise<void> {
      await flusher.stop();
      await flusher.runNow();
    },
  };
}

export type DeviceRegistry = ReturnType<typeof createDeviceRegistry>;

function later(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}
