import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bodyKey, splitBody } from '../../libs/jobs/body-store.js';
import { jobDefinition, type JobPayload } from '../../libs/jobs/catalog.js';
import { RAW_EVENT_VERSION, type RawEvent } from '../../libs/jobs/raw-event.js';
import { TimeoutError, withTimeout } from '../../libs/redis/connection.js';

export type RequestRecord = Omit<RawEvent, 'v' | 'body'>;

const JOB_NAME = 'event.archive';
/** Events written in one transaction at most; more wait for the next one (a batch this size is already one syscall of a few hundred KB). */
const MAX_BATCH_EVENTS = 256;

interface Pending {
  record: RequestRecord;
  body: Buffer;
  /** When the device must be answered 503 if Redis has not confirmed the write (Date.now() scale). */
  deadline: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The durable write that must succeed before a device hears 200: the body chunks, then the job
 * that points at them (job id = event id).
 *
 * Requests are written in batches, one Redis round trip each: a MULTI holding, per event, its
 * body HSET followed by its BullMQ job add (BullMQ's own `Job#addJob` on a transaction, the call
 * its `addBulk` makes). MULTI runs it all
 * or nothing, in order, so a job never exists without its body — the archiver treats a job whose
 * body is missing as unrecoverable. Should a job add fail alone, its body is removed again; if
 * Redis does not answer within the timeout, every caller of the batch answers 503.
 *
 * The payload is not validated here (its type is the contract's; the worker validates every
 * job, and test/integration/ingest.test.ts checks the ingest's jobs against the schema).
 */
export function createEventWriter(options: { redis: Redis; queue: Queue; prefix: string; timeoutMs: number }) {
  const { redis, queue, prefix, timeoutMs } = options;
  const definition = jobDefinition(JOB_NAME);
  if (definition.queue !== queue.name) throw new Error(`job ${JOB_NAME} belongs on queue ${definition.queue}, not ${queue.name}`);
  let pending: Pending[] = [];
  let writing = false;

  /**
   * One batch at Redis at a time: what arrives meanwhile waits for its reply and goes in the next
   * batch, so the batch grows with the load (a lone request is written at once, 64 busy devices
   * share a MULTI) and the round trip to Redis is the batching window.
   */
  const schedule = () => {
    if (writing || pending.length === 0) return;
    writing = true;
    setImmediate(() => void flush());
  };

  async function flush(): Promise<void> {
    const batch = pending.length > MAX_BATCH_EVENTS ? pending.splice(0, MAX_BATCH_EVENTS) : pending;
    if (batch === pending) pending = [];
    try {
      // The oldest event's deadline bounds the batch: time spent waiting for the previous batch counts.
      const remainingMs = batch[0]!.deadline - Date.now();
      if (remainingMs <= 0) throw new TimeoutError(timeoutMs);
      const results = await withTimeout(writeBatch(batch), remainingMs);
      batch.forEach((item, index) => {
        const error = results[index];
        if (error === undefined) item.resolve();
        else item.reject(error);
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      writing = false;
      schedule();
    }
  }

  /** One MULTI for the batch; resolves to each event's error (undefined = durably written). */
  async function writeBatch(batch: Pending[]): Promise<(unknown | undefined)[]> {
    const client = await queue.getBackend().client;
    const multi = client.multi();
    for (const { record, body } of batch) {
      const key = bodyKey(prefix, record.id);
      const chunks = splitBody(body);
      const fields: Record<string, Buffer> = {};
      for (let index = 0; index < chunks.length; index++) fields[index] = chunks[index]!;
      // Binary chunks: ioredis takes Buffers, BullMQ's transaction type only names strings.
      multi.hset(key, fields as unknown as Record<string, string>);
      const payload: JobPayload<typeof JOB_NAME> = { v: RAW_EVENT_VERSION, ...record, body: { key, bytes: body.length, chunks: chunks.length } };
      // Queued on the transaction synchronously; its outcome is read from exec's results below.
      new Job(queue, JOB_NAME, payload, { ...definition.options, jobId: record.id }, record.id).addJob(multi).catch(ignore);
    }
    const replies = (await multi.exec()) ?? [];
    return batch.map(({ record }, index) => {
      const [bodyError] = replies[2 * index] ?? [new Error('no reply for the body write')];
      const [jobError, jobReply] = replies[2 * index + 1] ?? [new Error('no reply for the job add')];
      const error = bodyError ?? jobError ?? (typeof jobReply === 'number' && jobReply < 0 ? new Error(`BullMQ refused the job (code ${jobReply})`) : undefined);
      if (error !== undefined && error !== null) {
        // Only one of the two may have landed; neither may stay without the other.
        redis.unlink(bodyKey(prefix, record.id)).catch(() => {});
        if (!jobError) queue.remove(record.id).catch(() => {});
        return error;
      }
      return undefined;
    });
  }

  return function writeEvent(record: RequestRecord, body: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      pending.push({ record, body, deadline: Date.now() + timeoutMs, resolve, reject });
      schedule();
    });
  };
}

export type EventWriter = ReturnType<typeof createEventWriter>;

function ignore(): void {}
