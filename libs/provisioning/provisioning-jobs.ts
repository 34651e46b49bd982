import type { Job, JobType, Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { keyLayout } from '../redis/key-layout.js';
import { addJob } from '../jobs/queues.js';
import { deviceJobCounts, type JobCounts } from './device-job-counts.js';
import { PROVISIONING_PAYLOAD_VERSION, PROVISIONING_QUEUE, provisioningJobId, type ProvisioningJobName } from '../jobs/provisioning.js';

export type ProvisioningSubject = { deviceId: string; employeeNo?: string; cardNo?: string };

const PENDING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

export interface JobSummary {
  id: string;
  name: string;
  deviceId: string | null;
  employeeNo: string | null;
  cardNo: string | null;
  state: string;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  processedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  result: unknown;
}

export const LISTABLE_STATES = ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'] as const;
export type ListableState = (typeof LISTABLE_STATES)[number];

/**
 * Adding, coalescing and listing provisioning jobs — the one way the API and the provisioner's
 * reconcile put work on the queue. A job id is deterministic per (operation, device, subject):
 * a pending job absorbs new requests (it reads the desired state when it runs); a finished one
 * is replaced; a running one gets a single follow-up (`…__rerun`) so a change made while it
 * ran is not lost.
 */
/** BullMQ's largest priority. */
const MAX_PRIORITY = 2_097_151;

export class ProvisioningJobs {
  private readonly backlog: DeviceBacklog;
  private readonly index: DeviceJobIndex;

  /** `redis` is the queue's producer connection, `prefix` its key prefix. */
  constructor(
    readonly queue: Queue,
    private readonly options: { attempts: number; redis: RedisClient; prefix: string },
  ) {
    if (queue.name !== PROVISIONING_QUEUE) throw new Error(`ProvisioningJobs needs the ${PROVISIONING_QUEUE} queue`);
    const keys = keyLayout(options.prefix);
    this.backlog = new DeviceBacklog(options.redis, keys.provisioningBacklog(PROVISIONING_QUEUE));
    this.index = new DeviceJobIndex(options.redis, (deviceId) => keys.provisioningDeviceJobs(PROVISIONING_QUEUE, deviceId));
  }

  /** Jobs per device by state (waiting, active, delayed, failed), from the per-device index. */
  async countsByDevice(deviceIds: string[]): Promise<Map<string, JobCounts>> {
    return deviceJobCounts(this.queue, this.options.redis, (deviceId) => this.index.keyOf(deviceId), deviceIds);
  }

  /** Index a job under its device (the worker calls this for jobs it did not add, e.g. scheduled reconciles). */
  async remember(deviceId: string, jobId: string): Promise<void> {
    await this.index.add(deviceId, jobId);
  }

  /** The worker calls this when a job leaves the queue for good (completed or finally failed). */
  async jobLeft(deviceId: string): Promise<void> {
    await this.backlog.leave(deviceId);
  }

  async enqueue(name: ProvisioningJobName, subject: ProvisioningSubject): Promise<{ jobId: string; coalesced: boolean }> {
    const payload = { v: PROVISIONING_PAYLOAD_VERSION, ...subject } as never;
    let jobId = provisioningJobId(name, subject);
    for (let round = 0; round < 2; round++) {
      const existing = await this.queue.getJob(jobId);
      if (existing) {
        const state = await existing.getState();
        if (PENDING_STATES.has(state)) return { jobId, coalesced: true };
        if (state === 'active') {
          jobId = `${provisioningJobId(name, subject)}__rerun`;
          continue;
        }
        // completed, failed or unknown: make room for a fresh run under the same id.
        await existing.remove().catch(() => {});
      }
      // Priority = the job's place in its device's backlog: devices are served round-robin, so
      // 1,000 jobs queued for one door do not stall the other doors behind them.
      const priority = Math.min(await this.backlog.join(subject.deviceId), MAX_PRIORITY);
      await addJob(this.queue, name, payload, { jobId, attempts: this.options.attempts, priority } as never);
      // BullMQ answers an add of an existing id with the local object; the stored priority tells
      // whether this add won (each join drew a different number) or joined a concurrent one.
      const stored = await this.queue.getJob(jobId);
      if (stored?.opts.priority !== priority) {
        await this.backlog.leave(subject.deviceId);
        return { jobId, coalesced: true };
      }
      await this.index.add(subject.deviceId, jobId);
      return { jobId, coalesced: false };
    }
    return { jobId, coalesced: true };
  }

  async enqueueMany(name: ProvisioningJobName, subjects: ProvisioningSubject[]): Promise<string[]> {
    const ids: string[] = [];
    // Bounded parallelism: thousands of assignments enqueue in seconds without flooding Redis.
    for (let i = 0; i < subjects.length; i += 50) {
      const batch = await Promise.all(subjects.slice(i, i + 50).map((subject) => this.enqueue(name, subject)));
      ids.push(...batch.map((item) => item.jobId));
    }
    return ids;
  }

  /**
   * Jobs of a device (or all), newest first. A device's jobs come from its index (a sorted set of
   * recent job ids), so listing costs about `limit` lookups, not a scan of the queue.
   */
  async list(filter: { deviceId?: string; state?: ListableState; limit?: number }): Promise<JobSummary[]> {
    // Prioritized jobs are simply waiting (priority only orders devices round-robin).
    const states: JobType[] = filter.state === 'waiting' ? ['waiting', 'prioritized'] : filter.state ? [filter.state] : [...LISTABLE_STATES];
    const limit = Math.min(filter.limit ?? 100, 1000);
    if (!filter.deviceId) {
      const jobs = (await this.queue.getJobs(states, 0, limit - 1, false)).filter((job): job is Job => Boolean(job));
      jobs.sort((a, b) => b.timestamp - a.timestamp);
      return Promise.all(jobs.slice(0, limit).map((job) => summarize(job)));
    }
    const wanted = new Set<string>(states);
    const found: JobSummary[] = [];
    const seen = new Set<string>();
    const gone: string[] = [];
    // Bounded: a state filter that matches rarely stops after this many recent jobs.
    for (let offset = 0; offset < 5_000 && found.length < limit; offset += 200) {
      const ids = await this.index.recent(filter.deviceId, offset, 200);
      const jobs = await Promise.all(ids.map((id) => this.queue.getJob(id)));
      for (const [i, job] of jobs.entries()) {
        const id = ids[i]!;
        if (!job) {
          gone.push(id);
          continue;
        }
        // New jobs indexed meanwhile shift the pages: never list one twice.
        if (seen.has(id)) continue;
        seen.add(id);
        const state = await job.getState();
        if (found.length < limit && wanted.has(state)) found.push(await summarize(job, state));
      }
      if (ids.length < 200) break;
    }
    // Jobs removed by age or by hand leave the index as they are noticed.
    if (gone.length) await this.index.forget(filter.deviceId, gone);
    return found;
  }

  async get(jobId: string): Promise<JobSummary | null> {
    const job = await this.queue.getJob(jobId);
    return job ? summarize(job) : null;
  }

  async retry(jobId: string): Promise<'retried' | 'not_failed' | 'not_found'> {
    const job = await this.queue.getJob(jobId);
    if (!job) return 'not_found';
    if ((await job.getState()) !== 'failed') return 'not_failed';
    await job.retry('failed');
    // It will leave the backlog again when it finishes.
    const deviceId = (job.data as { deviceId?: string }).deviceId;
    if (deviceId && job.opts.priority) await this.backlog.join(deviceId);
    return 'retried';
  }

  /** Run a device's delayed jobs now (its credentials changed, or it came back). */
  async resumeDevice(deviceId: string): Promise<number> {
    // Collect first, promote after: promoting while paging would shift the pages.
    const waiting: Job[] = [];
    for (let start = 0; ; start += 1_000) {
      const page = await this.queue.getJobs(['delayed'], start, start + 999, true);
      for (const job of page) {
        if ((job?.data as { deviceId?: string } | undefined)?.deviceId !== deviceId) continue;
        // A scheduler's next run (repeat:reconcile__…) is not waiting on the device: leave it on its schedule.
        if (job.repeatJobKey || job.id?.startsWith('repeat:')) continue;
        waiting.push(job);
      }
      if (page.length < 1_000) break;
    }
    let promoted = 0;
    for (const job of waiting) await job.promote().then(() => promoted++, () => {});
    return promoted;
  }
}

const presentState = (state: string): string => (state === 'prioritized' ? 'waiting' : state);

async function summarize(job: Job, knownState?: string): Promise<JobSummary> {
  const data = job.data as { deviceId?: string; employeeNo?: string; cardNo?: string };
  const rawState = knownState ?? (await job.getState());
  return {
    id: job.id ?? '',
    name: job.name,
    deviceId: data.deviceId ?? null,
    employeeNo: data.employeeNo ?? null,
    cardNo: data.cardNo ?? null,
    state: presentState(rawState),
    attempts: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    createdAt: new Date(job.timestamp).toISOString(),
    processedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    lastError: job.failedReason || null,
    // Handlers report a failure's device status (subStatusCode …) as progress before failing the job.
    result: job.returnvalue ?? (typeof job.progress === 'object' ? job.progress : null),
  };
}

/**
 * Jobs queued per device (a Redis hash under the queue prefix), used as the job's priority.
 * Approximate by design: a crash between add and count leaves it a little high until the
 * device's backlog drains, which only costs that device a little fairness.
 */
class DeviceBacklog {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  async join(deviceId: string): Promise<number> {
    return Math.max(1, await this.redis.hincrby(this.key, deviceId, 1));
  }

  async leave(deviceId: string): Promise<void> {
    const left = await this.redis.hincrby(this.key, deviceId, -1);
    if (left <= 0) await this.redis.hdel(this.key, deviceId);
  }
}

/** Recent job ids per device, newest last (a sorted set by time), capped in size. */
class DeviceJobIndex {
  private static readonly MAX_PER_DEVICE = 20_000;

  constructor(
    private readonly redis: RedisClient,
    readonly keyOf: (deviceId: string) => string,
  ) {}

  async add(deviceId: string, jobId: string): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.keyOf(deviceId), Date.now(), jobId)
      .zremrangebyrank(this.keyOf(deviceId), 0, -(DeviceJobIndex.MAX_PER_DEVICE + 1))
      .exec();
  }

  async recent(deviceId: string, offset: number, count: number): Promise<string[]> {
    return this.redis.zrevrange(this.keyOf(deviceId), offset, offset + count - 1);
  }

  async forget(deviceId: string, jobIds: string[]): Promise<void> {
    await this.redis.zrem(this.keyOf(deviceId), ...jobIds);
  }
}
