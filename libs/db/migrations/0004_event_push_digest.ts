import { sql, type Kysely } from 'kysely';

/**
 * Event push credentials. The Digest credential a device uses to post events to hikhub (its
 * httpHosts slot set to MD5digest): the username, and the password sealed with CREDENTIALS_KEY —
 * the provisioner must write it to the device. And the token and username the device was last
 * *configured* with: they stay valid at the ingest edge until the new ones are on the device.
 * Frozen: never edit, add a new migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`set local lock_timeout = '5s'`.execute(db);
  await sql`
    alter table managed_devices
      add column event_auth_username text,
      add column event_auth_password_encrypted text,
      add column event_configured_token_encrypted text,
      add column event_configured_auth_username text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table managed_devices
      drop column event_auth_username,
      drop column event_auth_password_encrypted,
      drop column event_configured_token_encrypted,
      drop column event_configured_auth_username`.execute(db);
}
