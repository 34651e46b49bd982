import { sql, type Kysely } from 'kysely';

/**
 * New managed devices keep the people hikhub does not manage: pruning them is an explicit
 * per-device choice, never a default (adding a terminal of an existing site must not lock its
 * people out). Devices already stored keep the value they have. Frozen: never edit.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table managed_devices alter column prune_unknown_users set default false`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table managed_devices alter column prune_unknown_users set default true`.execute(db);
}
