import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

/**
 * Queue depth by state, read from Redis when Prometheus scrapes. Every replica reports
 * the same numbers: dashboards take max() over instances, never sum().
 */
export function registerQueueDepth(registry: Registry, queues: Queue[]): void {
  new Gauge({
    name: 'hikhub_queue_jobs',
    help: 'Jobs in a BullMQ queue, by state (read at scrape time)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      for (const queue of queues) {
        try {
          const counts = await queue.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        } catch {
          // Redis unreachable: leave the last values; hikhub_up-style alerts cover the outage.
        }
      }
    },
  });
  new Gauge({
    name: 'hikhub_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest job waiting to be processed (0 when none wait)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      for (const queue of queues) {
        try {
          const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
          this.set({ queue: queue.name }, oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
        } catch {
          // as above
        }
      }
    },
  });
}
