import { Migrator, type MigrationResultSet } from 'kysely';
import type { Logger } from '../logger/logger.js';
import type { Db } from './database.js';
import { migrations } from './migrations/index.js';

/**
 * Bring the schema to the latest migration. Kysely's Postgres adapter holds a session-level
 * advisory lock while it migrates, so replicas starting together run each migration once.
 * Any error (including a database newer than this build) is a start-up error.
 */
export async function migrateToLatest(db: Db, logger: Logger): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  for (const r of result.results ?? []) {
    if (r.status === 'Error') logger.error({ migration: r.migrationName }, 'migration failed');
  }
  if (result.error) {
    throw new Error(`database migration failed: ${result.error instanceof Error ? result.error.message : String(result.error)}`, {
      cause: result.error,
    });
  }
  if (applied.length) logger.info({ applied }, 'migrations applied');
  return applied;
}

/** Boot check for services that do not migrate themselves: every known migration must have run. */
export async function assertMigrated(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const pending = (await migrator.getMigrations()).filter((m) => !m.executedAt).map((m) => m.name);
  if (pending.length) throw new Error(`database is missing migrations: ${pending.join(', ')} (run npm run migrate)`);
}
