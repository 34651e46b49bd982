import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { PROVISIONING_JOB_NAMES } from '../../libs/jobs/provisioning.js';
import { LATENCY_BUCKETS_SECONDS } from '../../libs/metrics/registry.js';

export const JOB_OUTCOMES = ['succeeded', 'skipped', 'retried', 'deferred', 'failed'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];
export const DEVICE_STATUSES = ['pending', 'online', 'unreachable', 'auth_failed', 'error'] as const;

export const ASSIGNMENT_STATES = ['pending', 'synced', 'failed'] as const;

export function createProvisionerMetrics(registry: Registry, counts: { devices: () => Promise<Record<string, number>>; assignments: () => Promise<Record<string, number>> }) {
  const metrics = {
    isapiRequests: new Counter({
      name: 'hikhub_isapi_requests_total',
      help: 'ISAPI requests to devices, by operation and outcome (ok or the failure class)',
      labelNames: ['operation', 'outcome'] as const,
      registers: [registry],
    }),
    isapiDuration: new Histogram({
      name: 'hikhub_isapi_request_duration_seconds',
      help: 'Time of one ISAPI request including Digest round trips, by operation',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS_SECONDS.filter((b) => b >= 0.001).concat([30]),
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'hikhub_provisioning_jobs_total',
      help: 'Provisioning job runs, by operation and outcome (retried = will run again; deferred = waits for its device)',
      labelNames: ['operation', 'outcome'] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'hikhub_provisioning_retries_total',
      help: 'Provisioning job attempts that failed and were scheduled again with backoff, by operation',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'hikhub_provisioning_auth_failures_total',
      help: 'Logins a device refused (each one spends the per-device lockout budget)',
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'hikhub_provisioning_job_duration_seconds',
      help: 'Time to run one provisioning job, lock wait included, by operation',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS_SECONDS.filter((b) => b >= 0.001).concat([30, 60]),
      registers: [registry],
    }),
  };
  countsGauge(registry, 'hikhub_provisioning_devices', 'Managed devices by status (read from Postgres at scrape time)', 'status', DEVICE_STATUSES, counts.devices);
  countsGauge(registry, 'hikhub_provisioning_assignments', 'People assigned to devices, by provisioning state (read from Postgres at scrape time)', 'state', ASSIGNMENT_STATES, counts.assignments);
  for (const operation of PROVISIONING_JOB_NAMES) {
    for (const outcome of JOB_OUTCOMES) metrics.jobs.inc({ operation, outcome }, 0);
    metrics.retries.inc({ operation }, 0);
  }
  metrics.authFailures.inc(0);
  return metrics;
}

/** A gauge of row counts by one label, read when Prometheus scrapes; every known value is always present. */
function countsGauge(registry: Registry, name: string, help: string, label: string, values: readonly string[], read: () => Promise<Record<string, number>>): void {
  new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    async collect() {
      try {
        const counts = await read();
        for (const value of values) this.set({ [label]: value }, counts[value] ?? 0);
      } catch {
        // Postgres unreachable: keep the last values; readiness reports the outage.
      }
    },
  });
}

export type ProvisionerMetrics = ReturnType<typeof createProvisionerMetrics>;
