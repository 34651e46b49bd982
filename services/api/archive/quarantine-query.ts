import { sql } from 'kysely';
import type { Db } from '../../../libs/db/database.js';
import { badRequest } from '../errors.js';

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

const KEY = sql<string>`to_char(q.quarantined_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const KEY_FORMAT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decodeCursor(cursor: string): { key: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && KEY_FORMAT.test(value[0]) && typeof value[1] === 'string' && UUID.test(value[1])) return { key: value[0], id: value[1] };
  } catch {
    // the 400 below
  }
  throw badRequest('invalid query: cursor: not a cursor from nextCursor', { issues: [{ path: 'cursor', message: 'not a cursor from nextCursor' }] });
}

/** Quarantined payloads newest first (keyset on quarantined_at, id), optionally of one reason code. */
export async function quarantinePage(db: Db, options: { reasonCode?: string; limit: number; cursor?: string }): Promise<{ items: QuarantineItem[]; nextCursor: string | null }> {
  let query = db
    .selectFrom('quarantined_events as q')
    .select(['q.id', 'q.received_at', 'q.quarantined_at', 'q.reason', 'q.reason_code', 'q.source_path', 'q.remote_address', 'q.content_type', 'q.body_bytes', 'q.reprocessed_at', 'q.reprocess_outcome', KEY.as('key')]);
  if (options.reasonCode !== undefined) query = query.where('q.reason_code', '=', options.reasonCode);
  if (options.cursor !== undefined) {
    const after = decodeCursor(options.cursor);
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
    nextCursor: rows.length > options.limit && last ? Buffer.from(JSON.stringify([last.key, last.id])).toString('base64url') : null,
  };
}

/** Rows a bulk re-run takes: never re-run, or re-run and still failing (a later parser fix may help). */
export function reprocessCandidates(db: Db, reasonCode: string | undefined) {
  let query = db
    .selectFrom('quarantined_events')
    .select('id')
    .where((eb) => eb.or([eb('reprocess_outcome', 'is', null), eb('reprocess_outcome', '=', 'still_failing')]));
  if (reasonCode !== undefined) query = query.where('reason_code', '=', reasonCode);
  return query;
}
