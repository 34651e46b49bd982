import { z } from 'zod';

/**
 * What ingest puts on the queue for every POST a device sends: the request as received,
 * with the body stored beside it in Redis as binary chunks (see body-store.ts), never
 * inside the job's JSON. `v` is bumped on any incompatible change, so old and new
 * archivers can run side by side during a rollout.
 */
export const RAW_EVENT_VERSION = 1;

export const rawEventV1Schema = z.object({
  v: z.literal(1),
  id: z.uuid(),
  receivedAt: z.iso.datetime(),
  remoteAddress: z.string(),
  method: z.string(),
  path: z.string(),
  query: z.string(),
  /** The headers that matter for parsing and for the record (content type, length, user agent, host...). */
  headers: z.record(z.string(), z.string()),
  body: z.object({
    key: z.string(),
    bytes: z.number().int().nonnegative(),
    chunks: z.number().int().nonnegative(),
  }),
});

export type RawEventV1 = z.infer<typeof rawEventV1Schema>;
export type RawEvent = RawEventV1;

/** Request headers kept in the envelope; everything else (cookies, authorization) stays out of Redis. */
export const KEPT_HEADERS = [
  'content-type',
  'content-length',
  'transfer-encoding',
  'user-agent',
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-real-ip',
] as const;
