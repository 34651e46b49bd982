import type { ArchiverEnv } from '../../libs/config/env.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { createQueue } from '../../libs/jobs/queues.js';
import { createPeriodicTask } from '../../libs/lifecycle/periodic-task.js';
import { startService } from '../../libs/lifecycle/service-scope.js';
import { startServiceWorker } from '../../libs/lifecycle/worker-service.js';
import type { RunningService } from '../../libs/lifecycle/run-services.js';
import type { Logger } from '../../libs/logger/logger.js';
import { createRegistry } from '../../libs/metrics/registry.js';
import { createWorkerConnection, checkEvictionPolicy, isRedisReady } from '../../libs/redis/connection.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import { createArchiveHandler } from './archive-event.js';
import { createBatchHandler } from './archive-batch.js';
import { createEventPermits } from './event-permits.js';
import { createDailyLogs } from './daily-logs.js';
import { createDeviceRegistry } from './device-registry.js';
import { createEventRepository } from './event-repository.js';
import { createBodyCleanup } from './body-cleanup.js';
import { createArchiverMetrics } from './metrics.js';
import { registerQueueDepth } from '../../libs/metrics/queue-depth.js';
import { registerRedisMemory } from '../../libs/metrics/redis-memory.js';
import { registerDeviceActivity } from './device-activity.js';
import { createPictureStore } from './picture-store.js';
import { createOrphanBodySweeper } from './orphan-bodies.js';
import { createQuarantine } from './quarantine.js';
import { createReprocessHandler, createRequarantine } from './reprocess-quarantined.js';
import { createCrashQuarantine } from './crash-quarantine.js';
import { createOutageCircuit } from './outage-circuit.js';
import { createOutageGuard } from './outage-guard.js';
import { createOutageProbes } from './outage-probes.js';

/** While a dependency is down, probes run this often. */
const OUTAGE_PROBE_INTERVAL_MS = 500;
const OUTAGE_PROBE_TIMEOUT_MS = 2_000;
/**
 * How long the worker takes nothing after handing a job back. Short, so that once a probe passes the
 * next job is taken at once; cheap, since a held archiver takes one job at a time (concurrency 1).
 */
const OUTAGE_HOLD_MS = 200;

/**
 * BullMQ's maxStalledCount, effectively unlimited: a job whose archiver was killed is never sent to
 * failed for it; crash-quarantine.ts quarantines a true poison after ARCHIVER_MAX_STALLS instead.
 */
const UNLIMITED_STALLS = Number.MAX_SAFE_INTEGER;

export interface RunningArchiver extends RunningService {
  metricsPort: number;
}

export function startArchiver(env: ArchiverEnv, logger: Logger): Promise<RunningArchiver> {
  return startService('archiver', logger, async (scope) => {
    const db = await scope.database(env);

    const registry = createRegistry('archiver');
    const metrics = createArchiverMetrics(registry);
    const redis = createWorkerConnection(env.REDIS_URL, 'hikhub-archiver', logger);
    scope.onStop('redis', () => redis.quit().catch(() => redis.disconnect()));
    scope.readyWhen(() => isRedisReady(redis));
    const queue = createQueue(EVENTS_QUEUE, redis, env.QUEUE_PREFIX, logger);
    scope.onStop('queue', () => queue.close());
    registerQueueDepth(registry, [queue]);
    registerRedisMemory(registry, redis);
    registerDeviceActivity(registry, db, env.DEVICE_SILENT_AFTER_SECONDS);

    const devices = createDeviceRegistry(db, logger);
    devices.start();
    scope.onStop('device activity', () => devices.stop());
    const logs = createDailyLogs(env.DATA_DIR, { observeBatch: (size) => metrics.observeBatch('logs', size) });
    scope.onStop('daily logs', () => logs.close());
    const archiveDependencies = {
      redis,
      bodies: createBodyCleanup(redis, { observeBatch: (size) => metrics.observeBatch('bodies', size) }),
      events: createEventRepository(db, { observeBatch: metrics.observeBatch }),
      devices,
      pictures: createPictureStore(env.DATA_DIR),
      logs,
      quarantine: createQuarantine(db, env.DATA_DIR),
      metrics,
      logger,
      archiveHeartbeats: env.ARCHIVE_HEARTBEATS,
      defaultTimeZone: env.DEVICE_TIME_ZONE,
    };
    // ARCHIVER_CONCURRENCY counts events, not jobs: a batch job's events take a permit each (event-permits.ts).
    const permits = createEventPermits(env.ARCHIVER_CONCURRENCY);
    const archiveOne = createArchiveHandler(archiveDependencies);
    const archiveEvent = (raw: RawEvent) => permits.run(() => archiveOne(raw));
    const archiveBatch = createBatchHandler({ queue, redis, archiveEvent, splitEvents: metrics.batchSplitEvents, logger });
    // A re-run goes through the same handler; only a renewed parse failure lands on its existing quarantine row.
    const reprocessQuarantined = createReprocessHandler({
      db,
      redis,
      prefix: env.QUEUE_PREFIX,
      dataDir: env.DATA_DIR,
      logger,
      archiveEvent: createArchiveHandler({ ...archiveDependencies, quarantine: createRequarantine(db) }),
    });

    // Postgres or the picture disk away: jobs wait in the queue, no attempt spent, until the probes pass.
    const circuit = createOutageCircuit({
      probes: createOutageProbes(db, env.DATA_DIR),
      probeIntervalMs: OUTAGE_PROBE_INTERVAL_MS,
      probeTimeoutMs: OUTAGE_PROBE_TIMEOUT_MS,
      registry,
      logger,
    });
    circuit.start();
    scope.onStop('outage probes', () => circuit.stop());
    scope.readyWhen(() => !circuit.isOpen());
    const heldDuringOutages = createOutageGuard({ circuit, queue, holdMs: OUTAGE_HOLD_MS, registry, logger });
    const poison = createCrashQuarantine({ db, redis, quarantine: archiveDependencies.quarantine, bodies: archiveDependencies.bodies, maxStalls: env.ARCHIVER_MAX_STALLS, metrics, logger });

    const worker = startServiceWorker(scope, {
      queue: EVENTS_QUEUE,
      handlers: {
        'event.archive': heldDuringOutages(poison.archive(archiveEvent)),
        'event.archive-batch': heldDuringOutages(archiveBatch),
        'event.reprocess-quarantined': heldDuringOutages(poison.reprocess(reprocessQuarantined)),
      },
      worker: {
        connection: createWorkerConnection(env.REDIS_URL, 'hikhub-archiver-worker', logger),
        prefix: env.QUEUE_PREFIX,
        concurrency: env.ARCHIVER_CONCURRENCY,
        lockDuration: env.ARCHIVER_LOCK_DURATION_MS,
        stalledInterval: env.ARCHIVER_STALLED_INTERVAL_MS,
        maxStalledCount: UNLIMITED_STALLS,
      },
      logger,
      jobKind: 'archive',
      failures: metrics.jobFailures,
    });
    // While held, take one job at a time to hand back instead of a full concurrency's worth.
    circuit.onChange((open) => {
      worker.concurrency = open ? 1 : env.ARCHIVER_CONCURRENCY;
    });

    void checkEvictionPolicy(redis, logger);

    const orphanSweeper = createOrphanBodySweeper({
      redis,
      queue,
      prefix: env.QUEUE_PREFIX,
      dataDir: env.DATA_DIR,
      minAgeMs: 60 * 60_000,
      counter: metrics.orphanBodies,
      logger,
    });
    scope.task('orphan body sweep', createPeriodicTask({ name: 'orphan body sweep', intervalMs: 10 * 60_000, run: orphanSweeper.sweep, logger }));

    const metricsPort = await scope.serveOps(env.ARCHIVER_METRICS_PORT, registry);
    logger.info({ concurrency: env.ARCHIVER_CONCURRENCY, metricsPort }, 'archiver running');
    return { metricsPort };
  });
}
