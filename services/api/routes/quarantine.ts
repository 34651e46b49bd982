import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Queue } from 'bullmq';
import type { Router } from 'express';
import { z } from 'zod';
import { addJob } from '../../../libs/jobs/queues.js';
import { REPROCESS_QUARANTINED_VERSION, reprocessJobId } from '../../../libs/jobs/events.js';
import { API_PREFIX, type ApiContext } from '../context.js';
import { jsonBody } from '../body.js';
import { notFound } from '../errors.js';
import { streamFile } from '../file-response.js';
import { quarantinePage, reprocessCandidates } from '../archive/quarantine-query.js';
import { parse } from '../validation.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const reasonCode = z.string().regex(/^[a-z_]{1,64}$/, 'expected a reason code such as malformed_xml');

const listQuarantineQuerySchema = z.strictObject({
  reasonCode: reasonCode.optional(),
  limit: z.coerce.number().int('expected an integer').min(1, 'expected 1–500').max(500, 'expected 1–500').default(50),
  cursor: z.string().max(200, 'not a cursor from nextCursor').optional(),
});
const bulkReprocessSchema = z.strictObject({ reasonCode: reasonCode.optional() });

const quarantineIdParam = (value: string) => {
  if (!UUID.test(value)) throw notFound(`quarantined payload ${value} not found`);
  return value.toLowerCase();
};

/**
 * Queue a re-run: `reprocess__<id>` coalesces while one waits; a finished or failed run of the
 * same row makes room for this one (a new parser fix deserves a new try).
 */
async function enqueueReprocess(queue: Queue, quarantineId: string): Promise<string> {
  const jobId = reprocessJobId(quarantineId);
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === 'completed' || state === 'failed') await existing.remove().catch(() => {});
  }
  await addJob(queue, 'event.reprocess-quarantined', { v: REPROCESS_QUARANTINED_VERSION, quarantineId }, { jobId });
  return jobId;
}

/** Payloads the archiver could not turn into events: list them, download the bytes, re-run them after a parser fix. */
export function registerQuarantineRoutes(router: Router, { archive, dataDir, eventsQueue }: ApiContext): void {
  const base = `${API_PREFIX}/quarantine`;
  const root = resolve(dataDir);

  router.get(base, async (req, res) => {
    const query = parse(listQuarantineQuerySchema, req.query, 'query');
    res.json(await quarantinePage(archive, query));
  });

  router.post(`${base}/reprocess`, jsonBody({ optional: true }), async (req, res) => {
    const { reasonCode } = parse(bulkReprocessSchema, req.body);
    let queued = 0;
    let after: string | undefined;
    // Keyset batches by id: every matching row once, however many there are.
    for (;;) {
      let query = reprocessCandidates(archive, reasonCode).orderBy('id').limit(500);
      if (after) query = query.where('id', '>', after);
      const ids = (await query.execute()).map((row) => row.id);
      if (!ids.length) break;
      await archive.updateTable('quarantined_events').set({ reprocess_requested_at: new Date() }).where('id', 'in', ids).execute();
      // A batch's jobs go out together (their Redis round trips overlap), not one after another.
      await Promise.all(ids.map((id) => enqueueReprocess(eventsQueue, id)));
      queued += ids.length;
      after = ids.at(-1);
    }
    res.status(202).json({ queued });
  });

  router.get(`${base}/:id/body`, async (req, res) => {
    const id = quarantineIdParam(req.params.id);
    const row = await archive.selectFrom('quarantined_events').select(['body_path', 'body_bytes']).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`quarantined payload ${id} not found`);
    const file = resolve(root, row.body_path);
    const found = file.startsWith(root + sep) ? await stat(file).catch(() => null) : null;
    if (!found?.isFile()) throw notFound(`the body of ${id} is missing from DATA_DIR`);
    res.status(200).set({
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${id}.bin"`,
      'content-length': String(found.size),
      'x-content-type-options': 'nosniff',
    });
    await streamFile(res, file);
  });

  router.post(`${base}/:id/reprocess`, async (req, res) => {
    const id = quarantineIdParam(req.params.id);
    const updated = await archive.updateTable('quarantined_events').set({ reprocess_requested_at: new Date() }).where('id', '=', id).executeTakeFirst();
    if (updated.numUpdatedRows === 0n) throw notFound(`quarantined payload ${id} not found`);
    res.status(202).json({ jobId: await enqueueReprocess(eventsQueue, id) });
  });
}
