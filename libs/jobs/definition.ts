import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';
import type { BackoffPolicy } from './backoff.js';

/** One entry of the job catalog: where the job goes, what its payload must look like, its defaults. */
export interface JobDefinition {
  queue: string;
  /** The payload version (`v`) this build writes and reads. */
  version: number;
  schema: z.ZodType;
  options: JobsOptions;
  backoff: BackoffPolicy;
}
