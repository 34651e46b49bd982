import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabaseUrl } from './database.js';
import { createTestPrefix } from './redis.js';

/**
 * What isolates one test file from the others: its own database on the shared Postgres, its
 * own Redis key prefix and its own data directory — released together.
 */
export async function createIsolation(label: string, redisUrl?: string) {
  const database = await createTestDatabaseUrl(label);
  const keys = createTestPrefix(label, redisUrl);
  const dataDir = await mkdtemp(join(tmpdir(), `hikhub-${label}-`));
  return {
    databaseUrl: database.url,
    prefix: keys.prefix,
    dataDir,
    release: async () => {
      await keys.cleanup();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
