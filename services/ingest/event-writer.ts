import { Job, type Queue } from 'bullmq';
import { bodyHashFields, bodyKey } from '../../libs/jobs/body-store.js';
import type { JobPayload } from '../../libs/jobs/catalog.js';
import { definitionOnQueue } from '../../libs/jobs/queues.js';
import { EVENT_BATCH_MAX_EVENTS, EVENT_BATCH_VERSION, eventBatchJobId } from '../../libs/jobs/events.js';
import { RAW_EVENT_VERSION, type RawEvent } from '../../libs/jobs/raw-event.js';
import { TimeoutError, withTimeout, type RedisClient } from '../../libs/redis/connection.js';

export type RequestRecord = Omit<RawEvent, 'v' | 'body'>;

const SINGLE = 'event.archive';
const BATCH = 'event.archive-batch';
/** Events written in one transaction at most; more wait for the next one (a batch this size is already one syscall of a few hundred KB). */
const MAX_BATCH_EVENTS = 256;

/** Events of one job in the transaction, and where their replies start (one per body, then the job's). */
interface Group {
  items: Pending[];
  jobId: string;
  firstReply: number;
}

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
 * that points at them (a lone event: `event.archive`, job id = event id; events written together:
 * one `event.archive-batch` job per up to EVENT_BATCH_MAX_EVENTS of them).
 *
 * Requests are written in batches, one Redis round trip each: a MULTI holding the body HSETs
 * followed by their BullMQ job add (BullMQ's own `Job#addJob` on a transaction, the call its
 * `addBulk` makes). MULTI runs it all
 * or nothing, in order, so a job never exists without its bodies — the archiver treats a job whose
 * body is missing as unrecoverable. Should a job add fail alone, its bodies are removed again; if
 * Redis does not answer within the timeout, every caller of the batch answers 503.
 *
 * The payload is not validated here (its type is the contract's; the worker validates every
 * job, and test/integration/ingest.test.ts checks the ingest's jobs against the schema).
 */
export function createEventWriter(options: { redis: RedisClient; queue: Queue; prefix: string; timeoutMs: number }) {
  const { redis, queue, prefix, timeoutMs } = options;
  const single = definitionOnQueue(queue, SINGLE);
  const batchDefinition = definitionOnQueue(queue, BATCH);
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

  /**
   * One MULTI for the batch; resolves to each event's error (undefined = durably written). The batch
   * is cut into groups of at most EVENT_BATCH_MAX_EVENTS: a group of one is an `event.archive` job
   * (job id = event id) as always; a larger group is its bodies, each naming the group's job, then
   * ONE `event.archive-batch` job — BullMQ's per-job cost paid once per group instead of per event.
   */
  async function writeBatch(batch: Pending[]): Promise<(unknown | undefined)[]> {
    const client = await queue.getBackend().client;
    const multi = client.multi();
    const groups: Group[] = [];
    let replyIndex = 0;
    for (let start = 0; start < batch.length; start += EVENT_BATCH_MAX_EVENTS) {
      const items = batch.slice(start, start + EVENT_BATCH_MAX_EVENTS);
      const jobId = items.length === 1 ? items[0]!.record.id : eventBatchJobId(items[0]!.record.id);
      const events = items.map(({ record, body }) => queueBody(multi, record, body, items.length === 1 ? undefined : jobId));
      // Queued on the transaction synchronously; its outcome is read from exec's results below.
      const job =
        items.length === 1
          ? new Job(queue, SINGLE, events[0]!, { ...single.options, jobId }, jobId)
          : new Job(queue, BATCH, { v: EVENT_BATCH_VERSION, events } satisfies JobPayload<typeof BATCH>, { ...batchDefinition.options, jobId }, jobId);
      job.addJob(multi).catch(ignore);
      groups.push({ items, jobId, firstReply: replyIndex });
      replyIndex += items.length + 1;
    }
    const replies = (await multi.exec()) ?? [];
    const errors: (unknown | undefined)[] = [];
    for (const { items, jobId, firstReply } of groups) {
      const reply = (index: number) => replies[firstReply + index] ?? [new Error('no reply from the transaction')];
      const bodyError = items.map((_, index) => reply(index)[0]).find((error) => error);
      const [jobError, jobReply] = reply(items.length);
      const error = bodyError ?? jobError ?? (typeof jobReply === 'number' && jobReply < 0 ? new Error(`BullMQ refused the job (code ${jobReply})`) : undefined);
      if (error !== undefined && error !== null) {
        // Only part of the group may have landed; no job may stay without its bodies, nor a body without its job.
        for (const { record } of items) redis.unlink(bodyKey(prefix, record.id)).catch(() => {});
        if (!jobError) queue.remove(jobId).catch(() => {});
      }
      for (let index = 0; index < items.length; index++) errors.push(error ?? undefined);
    }
    return errors;
  }

  /** Queues one body's HSET on the transaction; returns the event's payload (its body ref). */
  function queueBody(multi: Parameters<Job['addJob']>[0], record: RequestRecord, body: Buffer, batchJobId: string | undefined): RawEvent {
    const key = bodyKey(prefix, record.id);
    const { fields, chunks } = bodyHashFields(body, batchJobId);
    // Binary chunks: ioredis takes Buffers, BullMQ's transaction type only names strings (and types the queued call as a promise).
    void multi.hset(key, fields as unknown as Record<string, string>);
    return { v: RAW_EVENT_VERSION, ...record, body: { key, bytes: body.length, chunks } };
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
