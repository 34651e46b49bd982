import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import type { Db } from '../../libs/db/database.js';
import { deleteBody, writeBody } from '../../libs/jobs/body-store.js';
import { QUARANTINE_BODY_MISSING } from '../../libs/jobs/events.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { Logger } from '../../libs/logger/logger.js';
import type { RedisClient } from '../../libs/redis/connection.js';
import { keyLayout } from '../../libs/redis/key-layout.js';
import type { ArchiveOutcome } from './metrics.js';

type ArchiveEvent = (raw: RawEvent) => Promise<{ outcome: ArchiveOutcome }>;
type ReprocessOutcome = 'archived' | 'duplicate' | 'heartbeat' | 'still_failing';

const OUTCOMES: Record<ArchiveOutcome, ReprocessOutcome> = {
  archived: 'archived',
  already_archived: 'archived',
  duplicate: 'duplicate',
  heartbeat: 'heartbeat',
  quarantined: 'still_failing',
};

/**
 * Where a re-run's parse failure goes: onto the existing quarantine row (its new reason and
 * code), instead of a second row. Same signature as quarantine.ts's sink.
 */
export function createRequarantine(db: Db) {
  return async function requarantine(raw: RawEvent, _body: Buffer, reason: string, reasonCode: string): Promise<void> {
    await db.updateTable('quarantined_events').set({ reason, reason_code: reasonCode }).where('id', '=', raw.id).execute();
  };
}

/**
 * `event.reprocess-quarantined`: a quarantined payload through the archiver's own handler
 * again, after a parser fix. The stored bytes go back into Redis as a body (under a key of
 * their own, which the orphan sweeper ignores) and `archiveEvent` — built with the same
 * dependencies as the live one, except that a failure updates this row — runs on an envelope
 * rebuilt from the row: same id, time, path, headers. So the event is written exactly as a
 * fresh one (pictures, dedupe, daily logs), and a second run finds it already archived.
 */
export function createReprocessHandler(deps: { db: Db; redis: RedisClient; prefix: string; dataDir: string; archiveEvent: ArchiveEvent; logger: Logger }) {
  const { db, redis } = deps;
  return async function reprocessQuarantined(payload: { quarantineId: string }): Promise<{ outcome: ReprocessOutcome }> {
    const row = await db.selectFrom('quarantined_events').selectAll().where('id', '=', payload.quarantineId).executeTakeFirst();
    if (!row) throw new UnrecoverableError(`quarantined payload ${payload.quarantineId} does not exist`);
    let body: Buffer;
    try {
      body = await readFile(join(deps.dataDir, row.body_path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Said on the row, so the console shows why and bulk re-runs stop picking it up.
      await db
        .updateTable('quarantined_events')
        .set({ reprocessed_at: new Date(), reprocess_outcome: 'still_failing', reason_code: QUARANTINE_BODY_MISSING, reason: `the stored body is missing from DATA_DIR (${row.body_path})` })
        .where('id', '=', row.id)
        .execute();
      deps.logger.warn({ eventId: row.id, bodyPath: row.body_path }, 'quarantined payload cannot be re-run: its body file is missing');
      return { outcome: 'still_failing' };
    }

    const { method, query, ...headers } = row.headers as Record<string, string>;
    const key = keyLayout(deps.prefix).reprocessBody(row.id);
    const chunks = await writeBody(redis, key, body);
    const raw: RawEvent = {
      v: 1,
      id: row.id,
      receivedAt: new Date(row.received_at).toISOString(),
      remoteAddress: row.remote_address,
      method: method ?? 'POST',
      path: row.source_path,
      query: query ?? '',
      headers,
      body: { key, bytes: body.length, chunks },
    };
    let outcome: ReprocessOutcome;
    try {
      outcome = OUTCOMES[(await deps.archiveEvent(raw)).outcome];
    } finally {
      await deleteBody(redis, key);
    }
    await db.updateTable('quarantined_events').set({ reprocessed_at: new Date(), reprocess_outcome: outcome }).where('id', '=', row.id).execute();
    deps.logger.info({ eventId: row.id, outcome }, 'quarantined payload re-run');
    return { outcome };
  };
}
