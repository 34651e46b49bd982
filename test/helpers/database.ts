import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdentifier } from '../../libs/db/database.js';

export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of its own for one test file, on the shared Postgres; dropped by `drop()`. */
export async function createTestDatabaseUrl(label: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `hikhub_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${quoteIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
