import type { z } from 'zod';
import { eventJobs } from './events.js';
import { provisioningJobs } from './provisioning.js';

/**
 * The one job contract every service shares: job names, their queue, payload schema and
 * default options. Producers validate before `add`, workers validate again before running,
 * and a worker refuses to start unless it has a handler for every job of its queue. Payloads
 * carry their own version (`v`), bumped on any incompatible change.
 */
export const jobCatalog = {
  ...eventJobs,
  ...provisioningJobs,
} as const;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<N extends JobName> = z.infer<(typeof jobCatalog)[N]['schema']>;

export function jobsOfQueue(queue: string): JobName[] {
  return (Object.keys(jobCatalog) as JobName[]).filter((name) => jobCatalog[name].queue === queue);
}

export function jobDefinition<N extends JobName>(name: N): (typeof jobCatalog)[N] {
  return jobCatalog[name];
}

/** Boot check: every job of the queue has exactly one handler, and no handler names an unknown job. */
export function assertHandlersComplete(queue: string, handlers: Record<string, unknown>): void {
  const expected = jobsOfQueue(queue);
  const missing = expected.filter((name) => typeof handlers[name] !== 'function');
  const unknown = Object.keys(handlers).filter((name) => !expected.includes(name as JobName));
  if (missing.length || unknown.length) {
    throw new Error(
      `job handlers for queue "${queue}" do not match the contract:` +
        (missing.length ? ` missing ${missing.join(', ')};` : '') +
        (unknown.length ? ` unknown ${unknown.join(', ')};` : ''),
    );
  }
}
