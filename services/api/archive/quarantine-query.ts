import { sql } from 'kysely';
import type { Db } from '../../../libs/db/database.js';
import { QUARANTINE_BODY_MISSING } from '../../../libs/jobs/events.js';
import { decodeKeysetCursor, encodeKeysetCursor, keysetKey } from './keyset-cursor.js';

export interface QuarantineItem {
  id: string;
  receivedAt: string;
  quarantinedAt: string;
  reason: string;
  reasonCode: string;
  sourcePath: string;
  remoteAddress: string;
  contentType: string | null;
  bodyBytes: number;
  reprocessedAt: string | null;
  reprocessOutcome: string | null;
}

const KEY = keysetKey('q.quarantined_at');

/** Quarantined payloads newest first (keyset on quarantined_at, id), optionally of one reason code. */
export async function quarantinePage(db: Db, options: { reasonCode?: string; limit: number; cursor?: string }): Promise<{ items: QuarantineItem[]; nextCursor: string | null }> {
  let query = db
    .selectFrom('quarantined_events as q')
    .select(['q.id', 'q.received_at', 'q.quarantined_at', 'q.reason', 'q.reason_code', 'q.source_path', 'q.remote_address', 'q.content_type', 'q.body_bytes', 'q.reprocessed_at', 'q.reprocess_outcome', KEY.as('key')]);
  if (options.reasonCode !== undefined) query = query.where('q.reason_code', '=', options.reasonCode);
  if (options.cursor !== undefined) {
    const after = decodeKeysetCursor(options.cursor);
    query = query.where(sql<boolean>`(q.quarantined_at, q.id) < (${after.key}::timestamptz, ${after.id}::uuid)`);
  }
  const rows = await query.orderBy('q.quarantined_at', 'desc').orderBy('q.id', 'desc').limit(options.limit + 1).execute();
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => ({
      id: row.id,
      receivedAt: new Date(row.received_at).toISOString(),
      quarantinedAt: new Date(row.quarantined_at).toISOString(),
      reason: row.reason,
      reasonCode: row.reason_code,
      sourcePath: row.source_path,
      remoteAddress: row.remote_address,
      contentType: row.content_type,
      bodyBytes: row.body_bytes,
      reprocessedAt: row.reprocessed_at ? new Date(row.reprocessed_at).toISOString() : null,
      reprocessOutcome: row.reprocess_outcome,
    })),
    nextCursor: rows.length > options.limit && last ? encodeKeysetCursor({ key: last.key, id: last.id }) : null,
  };
}

/** Rows a bulk re-run takes: never re-run, or re-run and still failing (a later parser fix may help). */
export function reprocessCandidates(db: Db, reasonCode: string | undefined) {
  let query = db
    .selectFrom('quarantined_events')
    .select('id')
    .where((eb) => eb.or([eb('reprocess_outcome', 'is', null), eb('reprocess_outcome', '=', 'still_failing')]));
  // A row whose stored body is gone stays failing whatever the parser: not worth a job each time.
  query = reasonCode !== undefined ? query.where('reason_code', '=', reasonCode) : query.where('reason_code', '!=', QUARANTINE_BODY_MISSING);
  return query;
}
