import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, ensureDatabaseExists } from '../../libs/db/database.js';
import { assertMigrated, migrateToLatest } from '../../libs/db/migrator.js';
import { migrations } from '../../libs/db/migrations/index.js';
import { createLogger } from '../../libs/logger/logger.js';
import { createTestDatabaseUrl } from '../helpers/database.js';

const logger = createLogger('test', 'silent');

describe('database and migrations', async () => {
  const database = await createTestDatabaseUrl('migrations');
  afterAll(() => database.drop());

  it('creates the database when it is missing, once, even when replicas start together', async () => {
    const created = await Promise.all(Array.from({ length: 6 }, () => ensureDatabaseExists(database.url)));
    expect(created.filter(Boolean)).toHaveLength(1);
    expect(await ensureDatabaseExists(database.url)).toBe(false);
  });

  it('refuses to run against an unmigrated database', async () => {
    const db = createDb(database.url, 1);
    await expect(assertMigrated(db)).rejects.toThrow(/missing migrations: 0001_event_archive/);
    await db.destroy();
  });

  it('runs each migration once when several replicas start together', async () => {
    const dbs = Array.from({ length: 4 }, () => createDb(database.url, 2));
    const applied = await Promise.all(dbs.map((db) => migrateToLatest(db, logger)));
    expect(applied.flat()).toEqual(Object.keys(migrations));
    await assertMigrated(dbs[0]!);
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' order by 1`.execute(dbs[0]!);
    expect(tables.rows.map((row) => row.table_name)).toEqual(
      expect.arrayContaining(['devices', 'events', 'event_pictures', 'quarantined_events']),
    );
    await Promise.all(dbs.map((db) => db.destroy()));
  });

  it('fails at start-up when the database ran a migration this build does not know', async () => {
    const db = createDb(database.url, 1);
    await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', now()::text)`.execute(db);
    await expect(migrateToLatest(db, logger)).rejects.toThrow(/migration failed/);
    await sql`delete from kysely_migration where name = '9999_from_the_future'`.execute(db);
    await db.destroy();
  });
});
