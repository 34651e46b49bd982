import { sql, type Kysely } from 'kysely';

/**
 * Desired state for provisioning: the devices hikhub manages (credentials encrypted at rest),
 * people, their cards and face images, and which people belong on which device — with the
 * last known provisioning state of each assignment. Frozen: never edit, add a new migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`set local lock_timeout = '5s'`.execute(db);
  await sql`
    create table managed_devices (
      id uuid primary key,
      name text not null,
      host text not null,
      port integer not null check (port between 1 and 65535),
      scheme text not null default 'http' check (scheme in ('http', 'https')),
      username text not null,
      password_encrypted text not null,
      credentials_updated_at timestamptz not null default now(),
      status text not null default 'pending' check (status in ('pending', 'online', 'unreachable', 'auth_failed', 'error')),
      status_changed_at timestamptz not null default now(),
      last_error text,
      last_error_at timestamptz,
      last_contact_at timestamptz,
      serial_number text,
      model text,
      firmware_version text,
      mac_address text,
      event_push_url text,
      event_token_encrypted text,
      event_slot_id integer,
      events_configured_at timestamptz,
      prune_unknown_users boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (host, port)
    )`.execute(db);

  await sql`
    create table face_images (
      sha256 text primary key,
      jpeg bytea not null,
      bytes integer not null,
      created_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table people (
      employee_no text primary key,
      name text not null,
      user_type text not null default 'normal' check (user_type in ('normal', 'visitor', 'blackList')),
      valid_from timestamptz,
      valid_to timestamptz,
      face_sha256 text references face_images (sha256),
      face_updated_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (valid_to is null or valid_from is null or valid_to > valid_from)
    )`.execute(db);

  await sql`
    create table cards (
      card_no text primary key,
      employee_no text not null references people (employee_no) on delete cascade,
      card_type text not null default 'normalCard',
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index cards_employee_no_idx on cards (employee_no)`.execute(db);

  await sql`
    create table device_people (
      device_id uuid not null references managed_devices (id) on delete cascade,
      employee_no text not null references people (employee_no) on delete cascade,
      state text not null default 'pending' check (state in ('pending', 'synced', 'failed')),
      last_error text,
      last_job_id text,
      synced_at timestamptz,
      face_sha256_synced text,
      created_at timestamptz not null default now(),
      primary key (device_id, employee_no)
    )`.execute(db);
  await sql`create index device_people_employee_no_idx on device_people (employee_no)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['device_people', 'cards', 'people', 'face_images', 'managed_devices']) {
    await db.schema.dropTable(table).execute();
  }
}
