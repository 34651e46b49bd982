import type { RedisClient } from '../redis/connection.js';
import { keyLayout } from '../redis/key-layout.js';

/**
 * Event bodies live in Redis as a hash of binary chunks, one key per event.
 *
 * Why chunks: Redis allocates with jemalloc, whose size classes are up to 25 % larger than
 * the request (a 33 kB string costs 41 kB). A chunk of 16 KiB minus the 6-byte string header
 * fills its allocation exactly, so a body costs ~1.01 × its size (measured: bench/redis-memory).
 */
export const BODY_CHUNK_BYTES = 16_384 - 6;

/** Shorthand for `keyLayout(prefix).body(eventId)`, the one body key format. */
export function bodyKey(prefix: string, eventId: string): string {
  return keyLayout(prefix).body(eventId);
}

export function splitBody(body: Buffer): Buffer[] {
  if (body.length === 0) return [body];
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += BODY_CHUNK_BYTES) {
    chunks.push(body.subarray(offset, offset + BODY_CHUNK_BYTES));
  }
  return chunks;
}

/** A body's hash fields (chunk index → chunk, and the batch job carrying it, if any) and its chunk count: the one place the layout is built. */
export function bodyHashFields(body: Buffer, batchJobId?: string): { fields: Record<string, Buffer | string>; chunks: number } {
  const chunks = splitBody(body);
  const fields: Record<string, Buffer | string> = {};
  for (let index = 0; index < chunks.length; index++) fields[index] = chunks[index]!;
  if (batchJobId !== undefined) fields[BODY_JOB_FIELD] = batchJobId;
  return { fields, chunks: chunks.length };
}

/** Stores the body; returns the chunk count the reader needs. */
export async function writeBody(redis: RedisClient, key: string, body: Buffer): Promise<number> {
  const { fields, chunks } = bodyHashFields(body);
  await redis.hset(key, fields);
  return chunks;
}

export class BodyMissingError extends Error {
  constructor(key: string) {
    super(`event body ${key} is not in Redis`);
    this.name = 'BodyMissingError';
  }
}

export async function readBody(redis: RedisClient, key: string, chunkCount: number): Promise<Buffer> {
  const fields = Array.from({ length: chunkCount }, (_, index) => String(index));
  const chunks = await redis.hmgetBuffer(key, ...fields);
  if (chunks.some((chunk) => chunk === null)) throw new BodyMissingError(key);
  return Buffer.concat(chunks as Buffer[]);
}

/**
 * The field of a body hash that records which batch job carries the event (`event.archive-batch`),
 * so the orphan sweep can tell it is live; a lone event's job has the event's own id and needs none.
 * Chunks are the numeric fields, so chunk readers never see it.
 */
export const BODY_JOB_FIELD = 'job';

/** A stored body as the orphan sweep sees it (no job at hand, so no chunk count): its chunks in order; null once it is gone. */
export async function readStoredBody(redis: RedisClient, key: string): Promise<Buffer | null> {
  const fields = await redis.hgetallBuffer(key);
  const names = Object.keys(fields);
  if (names.length === 0) return null;
  const chunkIndexes = names.filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
  return Buffer.concat(chunkIndexes.map((index) => fields[String(index)]!));
}

export async function deleteBody(redis: RedisClient, key: string): Promise<void> {
  await redis.unlink(key);
}
