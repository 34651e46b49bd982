import { loadEnv, migrateEnvSchema } from '../config/env.js';
import { createLogger } from '../logger/logger.js';
import { createDb, ensureDatabaseExists } from './database.js';
import { migrateToLatest } from './migrator.js';

/** `npm run migrate`: create the database if needed and apply every pending migration. */
const env = loadEnv(migrateEnvSchema);
const logger = createLogger('migrate', env.LOG_LEVEL);
try {
  if (await ensureDatabaseExists(env.DATABASE_URL)) logger.info('database created');
  const db = createDb(env.DATABASE_URL, 1);
  try {
    const applied = await migrateToLatest(db, logger);
    logger.info({ applied: applied.length }, 'schema is up to date');
  } finally {
    await db.destroy();
  }
} catch (error) {
  logger.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
}
