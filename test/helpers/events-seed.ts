import { sql } from 'kysely';
import type { Db } from '../../libs/db/database.js';

export interface SeedOptions {
  events: number;
  devices?: number;
  days?: number;
  /** The newest event's time; events spread evenly over `days` before it. */
  until?: Date;
}

/**
 * A realistic archive in a few seconds per million rows (generate_series, no round trip per row):
 * `devices` devices, events spread over `days`, several families and types, ~1 in 3 access
 * events with a person (5,000 names "Person <n>") and one picture row, ~1 in 6 ANPR events
 * with a plate. The live-stream trigger is off while loading (nobody listens to a million
 * notifications), then ANALYZE.
 */
export async function seedEvents(db: Db, options: SeedOptions): Promise<{ deviceIds: string[]; from: Date; until: Date }> {
  const devices = options.devices ?? 50;
  const days = options.days ?? 30;
  const until = options.until ?? new Date();
  const from = new Date(until.getTime() - days * 86_400_000);
  const spanSeconds = (days * 86_400) / options.events;
  await sql`
    insert into devices (device_key, mac_address, ip_address, remote_address, device_name, model, serial_number)
    select 'mac:seed:' || d, 'aa:bb:cc:dd:' || lpad(to_hex(d / 256), 2, '0') || ':' || lpad(to_hex(d % 256), 2, '0'), '10.50.0.' || d, '10.50.0.' || d,
           'Seed device ' || d, 'DS-K1T671', 'SEED' || d
    from generate_series(1, ${devices}::int) d
    on conflict (device_key) do nothing`.execute(db);
  const deviceRows = await db.selectFrom('devices').select('id').where('device_key', 'like', 'mac:seed:%').orderBy('id').execute();
  const deviceIds = deviceRows.map((row) => row.id);
  await sql`alter table events disable trigger events_notify_insert`.execute(db);
  try {
    await sql`
      insert into events (id, received_at, occurred_at, device_time, event_type, event_state, event_family, mac_address, ip_address, remote_address,
                          device_id, channel_id, source_path, major_event_type, minor_event_type, employee_no, person_name, card_no, license_plate,
                          verify_result, payload)
      select gen_random_uuid(), t, t, to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
             (array['AccessControllerEvent', 'ANPR', 'VMD', 'linedetection', 'fielddetection', 'videoloss'])[k + 1],
             'active',
             (array['access_control', 'vehicle', 'motion', 'intrusion', 'intrusion', 'video'])[k + 1],
             null, null, '10.50.0.1', (${sql.val(deviceIds)}::bigint[])[1 + (i % ${deviceIds.length}::int)], 1, '/event/notification',
             case when k = 0 then 5 end, case when k = 0 then 75 end,
             case when k = 0 then (i % 5000)::text end,
             case when k = 0 then 'Person ' || (i % 5000) end,
             case when k = 0 then lpad((i % 5000)::text, 10, '0') end,
             case when k = 1 then 'P' || lpad((i % 20000)::text, 6, '0') end,
             case when k = 0 then 'face verified' end,
             case when k = 0 then jsonb_build_object('eventType', 'AccessControllerEvent', 'AccessControllerEvent', jsonb_build_object('doorNo', 1 + i % 2))
                  else jsonb_build_object('eventType', 'other') end
      from (
        select i, ${until}::timestamptz - make_interval(secs => i * ${spanSeconds}::float8) as t,
               case when i % 3 = 0 then 0 when i % 6 = 1 then 1 else 2 + (i % 4) end as k
        from generate_series(1, ${options.events}::int) i
      ) s`.execute(db);
    await sql`
      insert into event_pictures (event_id, position, part_name, path, bytes, sha256, content_type)
      select id, 0, 'Picture', 'pictures/seed/' || id || '-0.jpg', 40000, repeat('0', 64), 'image/jpeg'
      from events where event_family = 'access_control' and employee_no is not null`.execute(db);
  } finally {
    await sql`alter table events enable trigger events_notify_insert`.execute(db);
  }
  await sql`analyze devices`.execute(db);
  await sql`analyze events`.execute(db);
  await sql`analyze event_pictures`.execute(db);
  return { deviceIds, from, until };
}
