import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '../../libs/metrics/registry.js';
import type { InflightBudget } from './read-body.js';

export const INGEST_REJECTION_REASONS = ['too_large', 'aborted', 'overloaded', 'redis_unavailable', 'redis_full', 'enqueue_timeout'] as const;
export type IngestRejectionReason = (typeof INGEST_REJECTION_REASONS)[number];

export function createIngestMetrics(registry: Registry, budget: InflightBudget) {
  const metrics = {
    requests: new Counter({
      name: 'hikhub_ingest_requests_total',
      help: 'Device POSTs answered, by status class',
      labelNames: ['status_class'] as const,
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'hikhub_ingest_rejections_total',
      help: 'Device POSTs not queued, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    receivedBytes: new Counter({
      name: 'hikhub_ingest_received_bytes_total',
      help: 'Body bytes received from devices (queued or not)',
      registers: [registry],
    }),
    queuedEvents: new Counter({
      name: 'hikhub_ingest_queued_events_total',
      help: 'Events durably written to Redis and acknowledged to the device',
      registers: [registry],
    }),
    enqueueDuration: new Histogram({
      name: 'hikhub_ingest_enqueue_duration_seconds',
      help: 'Time to write an event durably to Redis (body and job)',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'hikhub_ingest_request_duration_seconds',
      help: 'Time from request start to response, device POSTs only',
      labelNames: ['status_class'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    inflightBytes: new Gauge({
      name: 'hikhub_ingest_inflight_bytes',
      help: 'Body bytes held in memory by requests not yet answered',
      registers: [registry],
      // Read when scraped, not written on every request.
      collect() {
        this.set(budget.bytes);
      },
    }),
  };
  // Zero every series up front so dashboards and alerts see them before the first failure.
  for (const statusClass of ['2xx', '4xx', '5xx']) {
    metrics.requests.inc({ status_class: statusClass }, 0);
  }
  for (const reason of INGEST_REJECTION_REASONS) metrics.rejections.inc({ reason }, 0);
  return metrics;
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/**
 * Archivers connected to the events queue, read at scrape time from Redis: "ingest up, archiver
 * down" shows as 0 here while events pile up.
 */
export function registerWorkerCount(registry: Registry, queue: Queue): void {
  new Gauge({
    name: 'hikhub_queue_workers',
    help: 'Workers connected to the queue (read from Redis at scrape time)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      try {
        this.set({ queue: queue.name }, await queue.getWorkersCount());
      } catch {
        // Redis unreachable: readiness and the request metrics already say so.
      }
    },
  });
}
