import type { Queue } from 'bullmq';
import { FULL_JITTER_BACKOFF } from '../../libs/jobs/backoff.js';
import { PROVISIONING_PAYLOAD_VERSION } from '../../libs/jobs/provisioning.js';
import type { DesiredState } from '../../libs/provisioning/desired-state.js';

const SCHEDULER_PREFIX = 'reconcile__';

/**
 * Keeps one BullMQ job scheduler per managed device (`reconcile__<deviceId>`) that queues a
 * device.reconcile every `intervalMs`; schedulers of deleted devices are removed. Any replica
 * may run this: upserting the same scheduler is idempotent.
 */
export function createReconcileSchedule(options: { queue: Queue; desired: DesiredState; intervalMs: number; attempts: number }) {
  const { queue, desired, intervalMs, attempts } = options;

  async function sync(): Promise<void> {
    const deviceIds = new Set(await desired.allDeviceIds());
    const existing = await queue.getJobSchedulers(0, -1, true);
    const scheduled = new Map(existing.filter((s) => s.key.startsWith(SCHEDULER_PREFIX)).map((s) => [s.key.slice(SCHEDULER_PREFIX.length), s]));
    for (const [deviceId, scheduler] of scheduled) {
      if (!deviceIds.has(deviceId) || intervalMs === 0) await queue.removeJobScheduler(scheduler.key);
    }
    if (intervalMs === 0) return;
    for (const deviceId of deviceIds) {
      if (scheduled.get(deviceId)?.every === intervalMs) continue;
      await queue.upsertJobScheduler(
        `${SCHEDULER_PREFIX}${deviceId}`,
        // Start a full interval from now: a new device is read and provisioned by the API's own jobs.
        { every: intervalMs, startDate: Date.now() + intervalMs },
        { name: 'device.reconcile', data: { v: PROVISIONING_PAYLOAD_VERSION, deviceId }, opts: { attempts, backoff: { type: FULL_JITTER_BACKOFF, delay: 1_000 }, removeOnComplete: { count: 1_000 }, removeOnFail: { count: 1_000 } } },
      );
    }
  }

  // The service runs it on a timer (libs/lifecycle/periodic-task.ts), first at start.
  return { sync };
}
