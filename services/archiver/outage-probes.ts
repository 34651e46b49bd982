import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Db } from '../../libs/db/database.js';
import type { OutageProbes } from './outage-circuit.js';

/** About one face picture: a disk with less room than this cannot take the next event anyway. */
const PROBE_BYTES = 256 * 1024;

/**
 * What the outage circuit asks before the archiver takes jobs again: Postgres answers a query,
 * and DATA_DIR takes a picture-sized file to the disk (written, fsynced, removed).
 */
export function createOutageProbes(db: Db, dataDir: string): OutageProbes {
  const payload = Buffer.alloc(PROBE_BYTES, 0x5a);
  return {
    postgres: async () => {
      // A pooled connection whose backend was killed (a blip) fails once and leaves the pool:
      // only a second failure, on a fresh connection, says Postgres itself is away.
      try {
        await sql`select 1`.execute(db);
      } catch {
        await sql`select 1`.execute(db);
      }
    },
    pictures: async () => {
      await mkdir(dataDir, { recursive: true });
      const path = join(dataDir, `.outage-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        const file = await open(path, 'wx');
        try {
          await file.write(payload);
          await file.sync();
        } finally {
          await file.close();
        }
      } finally {
        await rm(path, { force: true });
      }
    },
  };
}
