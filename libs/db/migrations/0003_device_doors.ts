import { sql, type Kysely } from 'kysely';

/** The doors of a managed device people are granted (door controllers have 2–4). Frozen: never edit, add a new migration. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`set local lock_timeout = '5s'`.execute(db);
  await sql`alter table managed_devices add column doors integer[] not null default '{1}' check (cardinality(doors) between 1 and 64)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table managed_devices drop column doors`.execute(db);
}
