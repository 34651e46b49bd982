import type { ProvisionerEnv } from '../../libs/config/env.js';
import { generateCredentialsKey, resolveSecret } from '../../libs/config/secrets.js';
import { SecretBox } from '../../libs/crypto/secret-box.js';
import { PROVISIONING_QUEUE } from '../../libs/jobs/provisioning.js';
import { createQueue } from '../../libs/jobs/queues.js';
import { createPeriodicTask } from '../../libs/lifecycle/periodic-task.js';
import type { RunningService } from '../../libs/lifecycle/run-services.js';
import { startService } from '../../libs/lifecycle/service-scope.js';
import { startServiceWorker } from '../../libs/lifecycle/worker-service.js';
import type { Logger } from '../../libs/logger/logger.js';
import { registerQueueDepth } from '../../libs/metrics/queue-depth.js';
import { registerRedisMemory } from '../../libs/metrics/redis-memory.js';
import { createRegistry } from '../../libs/metrics/registry.js';
import { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { DesiredState } from '../../libs/provisioning/desired-state.js';
import { ProvisioningJobs } from '../../libs/provisioning/provisioning-jobs.js';
import { checkEvictionPolicy, createProducerConnection, createWorkerConnection, isRedisReady } from '../../libs/redis/connection.js';
import { AuthFailureBudget } from './auth-failure-budget.js';
import { DeviceCircuit } from './device-circuit.js';
import { createDeviceJobRunner } from './device-job-runner.js';
import { DeviceLocks } from './device-lock.js';
import { DeviceSessions } from './device-sessions.js';
import { createDeviceHandlers } from './handlers/device.js';
import { createFaceHandlers } from './handlers/faces.js';
import { createPeopleHandlers } from './handlers/people.js';
import { createProvisionerMetrics } from './metrics.js';
import { createReconcileSchedule } from './reconcile-schedule.js';

export interface RunningProvisioner extends RunningService {
  metricsPort: number;
}

export function startProvisioner(env: ProvisionerEnv, logger: Logger): Promise<RunningProvisioner> {
  return startService('provisioner', logger, async (scope) => {
    const db = await scope.database(env);

    const secrets = SecretBox.fromText(await resolveSecret({ value: env.CREDENTIALS_KEY, dataDir: env.DATA_DIR, name: 'credentials.key', generate: generateCredentialsKey, logger }));
    const desired = new DesiredState(db, secrets);
    const registry = createRegistry('provisioner');
    const metrics = createProvisionerMetrics(registry, { devices: () => desired.deviceCountsByStatus(), assignments: () => desired.assignmentCountsByState() });

    const redis = createProducerConnection(env.REDIS_URL, 'hikhub-provisioner', logger);
    scope.onStop('redis', () => redis.quit().catch(() => redis.disconnect()));
    scope.readyWhen(() => isRedisReady(redis));
    const queue = createQueue(PROVISIONING_QUEUE, redis, env.QUEUE_PREFIX, logger);
    scope.onStop('queue', () => queue.close());
    registerQueueDepth(registry, [queue]);
    registerRedisMemory(registry, redis);
    const jobs = new ProvisioningJobs(queue, { attempts: env.PROVISIONING_ATTEMPTS, redis, prefix: env.QUEUE_PREFIX });

    const sessions = new DeviceSessions(
      desired,
      { connectTimeoutMs: env.ISAPI_CONNECT_TIMEOUT_MS, requestTimeoutMs: env.ISAPI_TIMEOUT_MS, faceTimeoutMs: env.ISAPI_FACE_TIMEOUT_MS },
      (sample) => {
        metrics.isapiRequests.inc({ operation: sample.operation, outcome: sample.outcome });
        metrics.isapiDuration.observe({ operation: sample.operation }, sample.durationSeconds);
      },
    );
    scope.onStop('device sessions', () => sessions.close());
    scope.task('idle session sweep', createPeriodicTask({ name: 'idle session sweep', intervalMs: 60_000, run: () => sessions.closeIdle(), logger }));
    const runDeviceJob = createDeviceJobRunner({
      desired,
      sessions,
      locks: new DeviceLocks(redis, env.QUEUE_PREFIX, { ttlMs: env.PROVISIONER_LOCK_DURATION_MS }),
      authBudget: new AuthFailureBudget(redis, env.QUEUE_PREFIX),
      circuit: new DeviceCircuit(redis, env.QUEUE_PREFIX),
      metrics,
      logger,
      concurrency: env.PROVISIONER_CONCURRENCY,
    });

    const worker = startServiceWorker(scope, {
      queue: PROVISIONING_QUEUE,
      handlers: {
        ...createDeviceHandlers({ desired, edgeCredentials: new EdgeCredentialStore(redis, env.QUEUE_PREFIX), jobs, runDeviceJob, deviceTimeZone: env.DEVICE_TIME_ZONE }),
        ...createPeopleHandlers({ desired, runDeviceJob, deviceTimeZone: env.DEVICE_TIME_ZONE }),
        ...createFaceHandlers({ desired, runDeviceJob }),
      },
      worker: {
        connection: createWorkerConnection(env.REDIS_URL, 'hikhub-provisioner-worker', logger),
        prefix: env.QUEUE_PREFIX,
        concurrency: env.PROVISIONER_CONCURRENCY,
        lockDuration: env.PROVISIONER_LOCK_DURATION_MS,
        stalledInterval: env.PROVISIONER_STALLED_INTERVAL_MS,
        maxStalledCount: 2,
      },
      logger,
      jobKind: 'provisioning job',
      // Devices offline or busy are routine: a retry is not a warning.
      retryLogLevel: 'info',
      onFailed: (job, error, final) => {
        if (!final) return;
        const data = job.data as { deviceId?: string; employeeNo?: string };
        if (data.deviceId && job.opts.priority) void jobs.jobLeft(data.deviceId).catch(() => {});
        if (data.deviceId && data.employeeNo && job.name !== 'person.delete') {
          desired.markAssignment(data.deviceId, data.employeeNo, { state: 'failed', error: error.message, jobId: job.id ?? '' }).catch(() => {});
        }
      },
    });
    // Jobs hikhub did not add through ProvisioningJobs (scheduled reconciles) join their device's job list when they run.
    worker.on('active', (job) => {
      const deviceId = (job.data as { deviceId?: string }).deviceId;
      if (deviceId && job.id && (job.repeatJobKey || job.id.startsWith('repeat:'))) void jobs.remember(deviceId, job.id).catch(() => {});
    });
    worker.on('completed', (job) => {
      // Only jobs added through ProvisioningJobs (they carry a priority) were counted in the backlog.
      const deviceId = (job.data as { deviceId?: string }).deviceId;
      if (deviceId && job.opts.priority) void jobs.jobLeft(deviceId).catch(() => {});
    });

    const schedule = createReconcileSchedule({ queue, desired, intervalMs: env.RECONCILE_INTERVAL_MS, attempts: env.PROVISIONING_ATTEMPTS });
    scope.task('reconcile schedule sync', createPeriodicTask({ name: 'reconcile schedule sync', intervalMs: 60_000, run: schedule.sync, logger }), { immediately: true });
    void checkEvictionPolicy(redis, logger);

    const metricsPort = await scope.serveOps(env.PROVISIONER_METRICS_PORT, registry);
    logger.info({ concurrency: env.PROVISIONER_CONCURRENCY, metricsPort }, 'provisioner running');
    return { metricsPort };
  });
}
