import { sql, type Kysely } from 'kysely';

/** The event archive: devices seen, events, their pictures, and quarantined payloads. Frozen: never edit, add a new migration. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`set local lock_timeout = '5s'`.execute(db);

  await db.schema
    .createTable('devices')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('device_key', 'text', (c) => c.notNull().unique())
    .addColumn('mac_address', 'text')
    .addColumn('ip_address', 'text')
    .addColumn('remote_address', 'text')
    .addColumn('serial_number', 'text')
    .addColumn('model', 'text')
    .addColumn('device_name', 'text')
    .addColumn('time_zone', 'text')
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_event_at', 'timestamptz')
    .addColumn('last_heartbeat_at', 'timestamptz')
    .addColumn('event_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('heartbeat_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('devices_mac_address_idx').on('devices').column('mac_address').execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz')
    .addColumn('device_time', 'text')
    .addColumn('event_type', 'text')
    .addColumn('event_state', 'text')
    .addColumn('event_family', 'text', (c) => c.notNull())
    .addColumn('mac_address', 'text')
    .addColumn('ip_address', 'text')
    .addColumn('remote_address', 'text', (c) => c.notNull())
    .addColumn('device_id', 'bigint', (c) => c.references('devices.id').onDelete('set null'))
    .addColumn('channel_id', 'integer')
    .addColumn('channel_name', 'text')
    .addColumn('source_path', 'text', (c) => c.notNull())
    .addColumn('major_event_type', 'integer')
    .addColumn('minor_event_type', 'integer')
    .addColumn('employee_no', 'text')
    .addColumn('person_name', 'text')
    .addColumn('card_no', 'text')
    .addColumn('serial_no', 'text')
    .addColumn('license_plate', 'text')
    .addColumn('verify_result', 'text')
    // Same device + serialNo (access control) or same ANPR UUID: one row however often the device resends it.
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('logged_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('events_received_at_idx').on('events').column('received_at desc').execute();
  await db.schema.createIndex('events_device_received_at_idx').on('events').columns(['device_id', 'received_at desc']).execute();
  await db.schema.createIndex('events_event_type_received_at_idx').on('events').columns(['event_type', 'received_at desc']).execute();
  await db.schema
    .createIndex('events_employee_no_idx')
    .on('events')
    .columns(['employee_no', 'received_at desc'])
    .where(sql.ref('employee_no'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('events_license_plate_idx')
    .on('events')
    .columns(['license_plate', 'received_at desc'])
    .where(sql.ref('license_plate'), 'is not', null)
    .execute();

  await db.schema
    .createTable('event_pictures')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'uuid', (c) => c.notNull().references('events.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('part_name', 'text')
    .addColumn('path', 'text', (c) => c.notNull().unique())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addUniqueConstraint('event_pictures_event_position_key', ['event_id', 'position'])
    .execute();

  await db.schema
    .createTable('quarantined_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('quarantined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('reason_code', 'text', (c) => c.notNull())
    .addColumn('source_path', 'text', (c) => c.notNull())
    .addColumn('remote_address', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('headers', 'jsonb', (c) => c.notNull())
    .addColumn('body_path', 'text', (c) => c.notNull())
    .addColumn('body_bytes', 'integer', (c) => c.notNull())
    .addColumn('body_sha256', 'text', (c) => c.notNull())
    .addColumn('reprocessed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('quarantined_events_quarantined_at_idx').on('quarantined_events').column('quarantined_at desc').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['quarantined_events', 'event_pictures', 'events', 'devices']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
