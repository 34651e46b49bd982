import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '../../libs/metrics/registry.js';
import type { BodySlots } from './body-slots.js';
import type { InflightBudget } from './read-body.js';

export const INGEST_REJECTION_REASONS = [
  'too_large',
  'aborted',
  'overloaded',
  'redis_unavailable',
  'redis_full',
  'enqueue_timeout',
  'path_not_allowed',
  'forbidden_address',
  'unauthenticated',
  'rate_limited',
  'address_busy',
  'too_slow',
] as const;
export type IngestRejectionReason = (typeof INGEST_REJECTION_REASONS)[number];

/** Why a device was not let in; `missing` includes the first leg of every Digest exchange (no credentials yet, challenge sent). */
export const AUTH_FAILURE_REASONS = [
  'missing',
  'malformed',
  'bad_credentials',
  'unknown_user',
  'uri_mismatch',
  'stale_nonce',
  'bad_nonce',
  'replayed_nonce',
  'unknown_token',
  'forbidden_address',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export const CONNECTION_REFUSAL_REASONS = ['per_address_limit', 'server_limit'] as const;

export const STATUS_CLASSES = ['2xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/**
 * What every device POST counts, kept as plain numbers on the hot path and handed to prom-client
 * only when /metrics is scraped (a labelled prom-client increment hashes its labels each time).
 */
interface IngestTally {
  requests: Record<StatusClass, number>;
  receivedBytes: number;
  queuedEvents: number;
}

export function createIngestMetrics(registry: Registry, budget: InflightBudget, slots: BodySlots) {
  const tally: IngestTally = { requests: { '2xx': 0, '4xx': 0, '5xx': 0 }, receivedBytes: 0, queuedEvents: 0 };
  const metrics = {
    tally,
    requests: new Counter({
      name: 'hikhub_ingest_requests_total',
      help: 'Device POSTs answered, by status class',
      labelNames: ['status_class'] as const,
      registers: [registry],
      collect() {
        setCounter(this, STATUS_CLASSES.map((statusClass) => [{ status_class: statusClass }, tally.requests[statusClass]]));
      },
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
      collect() {
        setCounter(this, [[undefined, tally.receivedBytes]]);
      },
    }),
    queuedEvents: new Counter({
      name: 'hikhub_ingest_queued_events_total',
      help: 'Events durably written to Redis and acknowledged to the device',
      registers: [registry],
      collect() {
        setCounter(this, [[undefined, tally.queuedEvents]]);
      },
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
    authFailures: new Counter({
      name: 'hikhub_ingest_auth_failures_total',
      help: 'Device POSTs refused by authentication or the address allow-list, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    rateLimitErrors: new Counter({
      name: 'hikhub_ingest_rate_limit_errors_total',
      help: 'Rate-limit checks that Redis did not answer in time (the request was let through)',
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'hikhub_ingest_connections_refused_total',
      help: 'TCP connections closed on arrival, by reason (per-address or server-wide cap)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    openConnections: new Gauge({
      name: 'hikhub_ingest_open_connections',
      help: 'TCP connections open on the device port',
      registers: [registry],
    }),
    bodiesInFlight: new Gauge({
      name: 'hikhub_ingest_bodies_in_flight',
      help: 'Requests whose body is being received or written to Redis',
      registers: [registry],
      collect() {
        this.set(slots.inFlight);
      },
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
  for (const reason of INGEST_REJECTION_REASONS) metrics.rejections.inc({ reason }, 0);
  for (const reason of AUTH_FAILURE_REASONS) metrics.authFailures.inc({ reason }, 0);
  for (const reason of CONNECTION_REFUSAL_REASONS) metrics.connectionsRefused.inc({ reason }, 0);
  return metrics;
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** Sets a counter to running totals kept elsewhere (a prom-client counter only goes up through `inc`). */
function setCounter<T extends string>(counter: Counter<T>, totals: [labels: Partial<Record<T, string>> | undefined, total: number][]): void {
  counter.reset();
  for (const [labels, total] of totals) {
    if (labels) counter.inc(labels, total);
    else counter.inc(total);
  }
}

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
