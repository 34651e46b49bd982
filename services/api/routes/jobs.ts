import type { Router } from 'express';
import { z } from 'zod';
import { LISTABLE_STATES } from '../../../libs/provisioning/provisioning-jobs.js';
import { API_PREFIX, type ApiContext } from '../context.js';
import { conflict, notFound } from '../errors.js';
import { deviceIdSchema, parse } from '../validation.js';

const listJobsQuerySchema = z.strictObject({
  device: deviceIdSchema.transform((id) => id.toLowerCase()).optional(),
  state: z.enum(LISTABLE_STATES, { error: `expected one of ${LISTABLE_STATES.join(', ')}` }).optional(),
  limit: z.coerce.number().int('expected an integer').min(1, 'expected 1–1000').max(1000, 'expected 1–1000').default(100),
});

/** What the provisioner did, is doing and will do — and a way to try a failed job again. */
export function registerJobRoutes(router: Router, { jobs }: ApiContext): void {
  const base = `${API_PREFIX}/jobs`;

  router.get(base, async (req, res) => {
    const query = parse(listJobsQuerySchema, req.query, 'query');
    res.json({ jobs: await jobs.list({ deviceId: query.device, state: query.state, limit: query.limit }) });
  });

  router.get(`${base}/:id`, async (req, res) => {
    const job = await jobs.get(req.params.id);
    if (!job) throw notFound(`job ${req.params.id} not found`);
    res.json(job);
  });

  router.post(`${base}/:id/retry`, async (req, res) => {
    const outcome = await jobs.retry(req.params.id);
    if (outcome === 'not_found') throw notFound(`job ${req.params.id} not found`);
    if (outcome === 'not_failed') throw conflict(`job ${req.params.id} has not failed; only failed jobs can be retried`);
    res.status(202).json({ jobId: req.params.id });
  });
}
