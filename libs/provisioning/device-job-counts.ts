import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';

export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** Recent jobs per device looked at: pending and failed work is recent; the index keeps up to 20,000. */
const RECENT_JOBS_PER_DEVICE = 1_000;
const LIST_SCAN_LIMIT = 10_000;

/**
 * Provisioning jobs per managed device by state, from the per-device job index ProvisioningJobs
 * keeps (`indexKey(deviceId)`, a sorted set of recent job ids): two round trips for the whole
 * list — the indexes, then one ZMSCORE per state set and device — never a scan of the queue or a
 * lookup per job. Use it through ProvisioningJobs.countsByDevice, which owns the index key.
 */
export async function deviceJobCounts(queue: Queue, redis: RedisClient, indexKey: (deviceId: string) => string, deviceIds: string[]): Promise<Map<string, JobCounts>> {
  const counts = new Map<string, JobCounts>();
  if (!deviceIds.length) return counts;

  const listing = redis.pipeline();
  for (const deviceId of deviceIds) listing.zrevrange(indexKey(deviceId), 0, RECENT_JOBS_PER_DEVICE - 1);
  listing.lrange(queue.keys.active!, 0, LIST_SCAN_LIMIT - 1);
  listing.lrange(queue.keys.wait!, 0, LIST_SCAN_LIMIT - 1);
  const listed = (await listing.exec()) ?? [];
  const idsOf = deviceIds.map((_, index) => (listed[index]?.[1] as string[] | undefined) ?? []);
  const active = new Set((listed[deviceIds.length]?.[1] as string[] | undefined) ?? []);
  const waitList = new Set((listed[deviceIds.length + 1]?.[1] as string[] | undefined) ?? []);

  const scoring = redis.pipeline();
  const sets = [queue.keys.prioritized!, queue.keys.delayed!, queue.keys.failed!];
  for (const ids of idsOf) {
    if (!ids.length) continue;
    for (const key of sets) scoring.zmscore(key, ...ids);
  }
  const scored = (await scoring.exec()) ?? [];
  let cursor = 0;
  deviceIds.forEach((deviceId, index) => {
    const ids = idsOf[index]!;
    const result: JobCounts = { waiting: 0, active: 0, delayed: 0, failed: 0 };
    if (ids.length) {
      const [prioritized, delayed, failed] = sets.map(() => (scored[cursor++]?.[1] as (string | null)[] | undefined) ?? []);
      ids.forEach((id, i) => {
        if (active.has(id)) result.active += 1;
        else if (waitList.has(id) || prioritized![i] != null) result.waiting += 1;
        else if (delayed![i] != null) result.delayed += 1;
        else if (failed![i] != null) result.failed += 1;
      });
    }
    counts.set(deviceId, result);
  });
  return counts;
}
