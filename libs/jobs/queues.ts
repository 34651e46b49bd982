import { Queue, Worker, UnrecoverableError, type Job, type WorkerOptions } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { fullJitterDelay, FULL_JITTER_BACKOFF } from './backoff.js';
import { assertHandlersComplete, jobCatalog, jobDefinition, type JobName, type JobPayload } from './catalog.js';

/** BullMQ keeps an event stream per queue; we do not read it, so keep it short (it costs Redis memory per job). */
const EVENT_STREAM_MAX_LEN = 1_000;

export function createQueue(name: string, connection: RedisClient, prefix: string, log?: { warn: (obj: object, msg: string) => void }): Queue {
  const queue = new Queue(name, { connection, prefix, streams: { events: { maxLen: EVENT_STREAM_MAX_LEN } } });
  queue.on('error', (error) => log?.warn({ err: error.message, queue: name }, 'queue error'));
  return queue;
}

/** The contract's definition of `name`, refusing a queue the job does not belong on. */
export function definitionOnQueue<N extends JobName>(queue: Queue, name: N) {
  const definition = jobDefinition(name);
  if (definition.queue !== queue.name) throw new Error(`job ${name} belongs on queue ${definition.queue}, not ${queue.name}`);
  return definition;
}

/** Validate against the contract, then add with the job's default options. */
export async function addJob<N extends JobName>(
  queue: Queue,
  name: N,
  payload: JobPayload<N>,
  options: { jobId?: string; priority?: number; delay?: number } = {},
): Promise<Job> {
  const definition = definitionOnQueue(queue, name);
  const data = definition.schema.parse(payload);
  return queue.add(name, data, { ...definition.options, ...options });
}

/** Several jobs of one name in one round trip (BullMQ's addBulk: one MULTI), each validated against the contract. */
export async function addJobs<N extends JobName>(queue: Queue, name: N, entries: { payload: JobPayload<N>; jobId: string }[]): Promise<Job[]> {
  const definition = definitionOnQueue(queue, name);
  return queue.addBulk(entries.map(({ payload, jobId }) => ({ name, data: definition.schema.parse(payload), opts: { ...definition.options, jobId } })));
}

export class NewerPayloadError extends Error {
  override name = 'NewerPayloadError';
}

/** What a handler knows about its run; `job` and `token` let it move itself to delayed (DelayedError). */
export interface JobContext {
  jobId: string;
  attempt: number;
  job: Job;
  token: string | undefined;
}

export type HandlerMap = Record<string, (payload: never, context: JobContext) => Promise<unknown>>;

/**
 * A worker bound to the contract: refuses to start with a missing handler, rejects payloads
 * that do not match the schema (UnrecoverableError: retrying cannot fix them), and applies
 * each job's backoff policy.
 */
export function createContractWorker(
  queueName: string,
  handlers: HandlerMap,
  options: Omit<WorkerOptions, 'settings'> & { connection: RedisClient },
): Worker {
  assertHandlersComplete(queueName, handlers);
  return new Worker(
    queueName,
    async (job: Job, token?: string) => {
      const name = job.name as JobName;
      const definition = jobCatalog[name];
      const handler = handlers[name];
      // A job name this build does not know comes from a newer build during a rolling upgrade: leave it for a newer worker.
      if (!definition || !handler) throw new NewerPayloadError(`no handler for job ${job.name} in this build; leaving it for a newer worker`);
      const parsed = definition.schema.safeParse(job.data);
      if (!parsed.success) {
        // During a rolling upgrade an older worker may see a newer payload: leave it (retry later) for a newer worker.
        const version = (job.data as { v?: unknown } | null)?.v;
        if (typeof version === 'number' && version > definition.version) {
          throw new NewerPayloadError(`${job.name} payload v${version} is newer than this worker (v${definition.version}); leaving it for a newer worker`);
        }
        throw new UnrecoverableError(`payload does not match ${job.name}: ${parsed.error.message}`);
      }
      return handler(parsed.data as never, { jobId: job.id ?? '', attempt: job.attemptsMade + 1, job, token });
    },
    {
      ...options,
      settings: {
        backoffStrategy: (attemptsMade, type, _error, job) => {
          const definition = job ? jobCatalog[job.name as JobName] : undefined;
          if (type !== FULL_JITTER_BACKOFF || !definition) return 1_000;
          return fullJitterDelay(attemptsMade, definition.backoff);
        },
      },
    },
  );
}
