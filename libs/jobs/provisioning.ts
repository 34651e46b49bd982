import { z } from 'zod';
import { FULL_JITTER_BACKOFF } from './backoff.js';
import type { JobDefinition } from './definition.js';

export const PROVISIONING_QUEUE = 'provisioning';
export const PROVISIONING_PAYLOAD_VERSION = 1;

/**
 * Provisioning jobs carry ids only: the handler reads the desired state when it runs, so a job
 * that waited through a long backoff applies what is wanted *now*, and jobs for one
 * (device, subject) coalesce under one deterministic id.
 */
const employeeNo = z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'employeeNo: 1–32 letters or digits');
const cardNo = z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'cardNo: 1–32 letters or digits');
const base = { v: z.literal(PROVISIONING_PAYLOAD_VERSION), deviceId: z.uuid() };

const deviceJob = z.object(base);
const personJob = z.object({ ...base, employeeNo });
const cardUpsertJob = z.object({ ...base, employeeNo, cardNo });
const cardDeleteJob = z.object({ ...base, cardNo });

const provisioningDefaults = {
  queue: PROVISIONING_QUEUE,
  version: PROVISIONING_PAYLOAD_VERSION,
  options: {
    // PROVISIONING_ATTEMPTS overrides this when jobs are added.
    attempts: 20,
    backoff: { type: FULL_JITTER_BACKOFF, delay: 1_000 },
    // Kept so operators (and GET /api/v1/jobs) can see what happened; failed jobs stay until retried or a month old.
    removeOnComplete: { age: 7 * 24 * 3600, count: 50_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  },
  backoff: { baseMs: 1_000, capMs: 5 * 60_000 },
} as const;

export const provisioningJobs = {
  'device.read-info': { ...provisioningDefaults, schema: deviceJob },
  'device.configure-events': { ...provisioningDefaults, schema: deviceJob },
  'device.reconcile': { ...provisioningDefaults, schema: deviceJob },
  'person.upsert': { ...provisioningDefaults, schema: personJob },
  'person.delete': { ...provisioningDefaults, schema: personJob },
  'card.upsert': { ...provisioningDefaults, schema: cardUpsertJob },
  'card.delete': { ...provisioningDefaults, schema: cardDeleteJob },
  'face.upsert': { ...provisioningDefaults, schema: personJob },
  'face.delete': { ...provisioningDefaults, schema: personJob },
} as const satisfies Record<string, JobDefinition>;

export type ProvisioningJobName = keyof typeof provisioningJobs;
export const PROVISIONING_JOB_NAMES = Object.keys(provisioningJobs) as ProvisioningJobName[];

/**
 * The deterministic id of a provisioning job: one per (operation, device, subject), so asking
 * twice coalesces into one job. BullMQ ids may not contain ':'.
 */
export function provisioningJobId(name: ProvisioningJobName, payload: { deviceId: string; employeeNo?: string; cardNo?: string }): string {
  const subject = payload.cardNo ?? payload.employeeNo ?? 'device';
  return `${name}__${payload.deviceId}__${subject}`;
}
