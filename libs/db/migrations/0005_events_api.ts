import { sql, type Kysely } from 'kysely';

/**
 * The events API: keyset indexes (newest first, ties by id) for every filter it offers, a
 * trigram index for name search, a notification on every archived event for live streams, and
 * what a quarantined payload's re-run led to. Frozen: never edit, add a new migration.
 *
 * Building these indexes on a large existing archive holds a write lock on `events` while they
 * build (migrations run in a transaction, so not CONCURRENTLY): expect minutes per ten million
 * rows, during which archivers wait and queue up in Redis (nothing is lost).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`set local lock_timeout = '5s'`.execute(db);
  // Trusted since PostgreSQL 13: the database owner may create it without being superuser.
  await sql`create extension if not exists pg_trgm`.execute(db);

  // Each index ends in (received_at desc, id desc), the API's order, so a page is an index range
  // read that stops after `limit` rows. They replace the 0001 indexes they extend.
  await sql`create index events_received_at_id_idx on events (received_at desc, id desc)`.execute(db);
  await sql`create index events_device_received_at_id_idx on events (device_id, received_at desc, id desc)`.execute(db);
  await sql`create index events_event_type_received_at_id_idx on events (event_type, received_at desc, id desc)`.execute(db);
  await sql`create index events_family_received_at_id_idx on events (event_family, received_at desc, id desc)`.execute(db);
  await sql`create index events_employee_no_received_at_id_idx on events (employee_no, received_at desc, id desc) where employee_no is not null`.execute(db);
  await sql`create index events_plate_received_at_id_idx on events (upper(license_plate), received_at desc, id desc) where license_plate is not null`.execute(db);
  await sql`create index events_person_name_trgm_idx on events using gin (person_name gin_trgm_ops) where person_name is not null`.execute(db);
  for (const superseded of ['events_received_at_idx', 'events_device_received_at_idx', 'events_event_type_received_at_idx', 'events_employee_no_idx', 'events_license_plate_idx']) {
    await sql`drop index if exists ${sql.id(superseded)}`.execute(db);
  }

  // One notification per archived event (the payload is its id); the API's live stream LISTENs.
  await sql`
    create function hikhub_notify_event() returns trigger language plpgsql as $$
    begin
      perform pg_notify('hikhub_events', new.id::text);
      return null;
    end
    $$`.execute(db);
  await sql`create trigger events_notify_insert after insert on events for each row execute function hikhub_notify_event()`.execute(db);

  await sql`
    alter table quarantined_events
      add column reprocess_outcome text check (reprocess_outcome in ('archived', 'duplicate', 'heartbeat', 'still_failing')),
      add column reprocess_requested_at timestamptz`.execute(db);
  await sql`create index quarantined_events_quarantined_at_id_idx on quarantined_events (quarantined_at desc, id desc)`.execute(db);
  await sql`create index quarantined_events_reason_code_idx on quarantined_events (reason_code, quarantined_at desc, id desc)`.execute(db);
  await sql`drop index if exists quarantined_events_quarantined_at_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists events_notify_insert on events`.execute(db);
  await sql`drop function if exists hikhub_notify_event()`.execute(db);
  for (const index of [
    'events_received_at_id_idx', 'events_device_received_at_id_idx', 'events_event_type_received_at_id_idx', 'events_family_received_at_id_idx',
    'events_employee_no_received_at_id_idx', 'events_plate_received_at_id_idx', 'events_person_name_trgm_idx',
    'quarantined_events_quarantined_at_id_idx', 'quarantined_events_reason_code_idx',
  ]) {
    await sql`drop index if exists ${sql.id(index)}`.execute(db);
  }
  await sql`create index if not exists events_received_at_idx on events (received_at desc)`.execute(db);
  await sql`create index if not exists events_device_received_at_idx on events (device_id, received_at desc)`.execute(db);
  await sql`create index if not exists events_event_type_received_at_idx on events (event_type, received_at desc)`.execute(db);
  await sql`create index if not exists events_employee_no_idx on events (employee_no, received_at desc) where employee_no is not null`.execute(db);
  await sql`create index if not exists events_license_plate_idx on events (license_plate, received_at desc) where license_plate is not null`.execute(db);
  await sql`create index if not exists quarantined_events_quarantined_at_idx on quarantined_events (quarantined_at desc)`.execute(db);
  await sql`alter table quarantined_events drop column reprocess_outcome, drop column reprocess_requested_at`.execute(db);
}
