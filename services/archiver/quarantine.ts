import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Db } from '../../libs/db/database.js';
import { utcDayPath, writeFileAtomic } from '../../libs/files/atomic-write.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';

/**
 * A payload that cannot become an event is kept, not dropped: its bytes on disk under
 * quarantine/…/<event id>.bin and a row saying why, so it can be replayed after a parser fix.
 */
export function createQuarantine(db: Db, dataDir: string) {
  return async function quarantine(raw: RawEvent, body: Buffer, reason: string, reasonCode: string): Promise<void> {
    const bodyPath = `quarantine/${utcDayPath(new Date(raw.receivedAt))}/${raw.id}.bin`;
    await writeFileAtomic(join(dataDir, bodyPath), body);
    await db
      .insertInto('quarantined_events')
      .values({
        id: raw.id,
        received_at: new Date(raw.receivedAt),
        reason,
        reason_code: reasonCode,
        source_path: raw.path,
        remote_address: raw.remoteAddress,
        content_type: raw.headers['content-type'] ?? null,
        headers: JSON.stringify({ ...raw.headers, method: raw.method, query: raw.query }),
        body_path: bodyPath,
        body_bytes: body.length,
        body_sha256: createHash('sha256').update(body).digest('hex'),
        reprocessed_at: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  };
}

export type Quarantine = ReturnType<typeof createQuarantine>;
