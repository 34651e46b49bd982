import type { ArchiverEnv } from '../../libs/config/env.js';
import { createDb, ensureDatabaseExists, isDatabaseReady } from '../../libs/db/database.js';
import { assertMigrated, migrateToLatest } from '../../libs/db/migrator.js';
import { startOpsServer } from '../../libs/http/ops-server.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { createContractWorker, createQueue } from '../../libs/jobs/queues.js';
import type { RunningService } from '../../libs/lifecycle/run-services.js';
import type { Logger } from '../../libs/logger/logger.js';
import { createRegistry } from '../../libs/metrics/registry.js';
import { createWorkerConnection, checkEvictionPolicy, isRedisReady } from '../../libs/redis/connection.js';
import { createArchiveHandler } from './archive-event.js';
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

export interface RunningArchiver extends RunningService {
  metricsPort: number;
}

export async function startArchiver(env: ArchiverEnv, logger: Logger): Promise<RunningArchiver> {
  if (await ensureDatabaseExists(env.DATABASE_URL)) logger.info('database created');
  const db = createDb(env.DATABASE_URL, env.DB_POOL_SIZE);
  if (env.MIGRATE_ON_START) await migrateToLatest(db, logger);
  else await assertMigrated(db);

  const registry = createRegistry('archiver');
  const metrics = createArchiverMetrics(registry);
  const redis = createWorkerConnection(env.REDIS_URL, 'hikhub-archiver', logger);
  const queue = createQueue(EVENTS_QUEUE, redis, env.QUEUE_PREFIX, logger);
  registerQueueDepth(registry, [queue]);
  registerRedisMemory(registry, redis);
  registerDeviceActivity(registry, db, env.DEVICE_SILENT_AFTER_SECONDS);

  const devices = createDeviceRegistry(db, logger);
  const logs = createDailyLogs(env.DATA_DIR, { observeBatch: (size) => metrics.observeBatch('logs', size) });
  devices.start();
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
  const archiveEvent = createArchiveHandler(archiveDependencies);
  // A re-run goes through the same handler; only a renewed parse failure lands on its existing quarantine row.
  const reprocessQuarantined = createReprocessHandler({
    db,
    redis,
    prefix: env.QUEUE_PREFIX,
    dataDir: env.DATA_DIR,
    logger,
    archiveEvent: createArchiveHandler({ ...archiveDependencies, quarantine: createRequarantine(db) }),
  });

  const worker = createContractWorker(
    EVENTS_QUEUE,
    { 'event.archive': archiveEvent, 'event.reprocess-quarantined': reprocessQuarantined },
    {
      connection: createWorkerConnection(env.REDIS_URL, 'hikhub-archiver-worker', logger),
      prefix: env.QUEUE_PREFIX,
      concurrency: env.ARCHIVER_CONCURRENCY,
      lockDuration: env.ARCHIVER_LOCK_DURATION_MS,
      stalledInterval: env.ARCHIVER_STALLED_INTERVAL_MS,
      // A job whose archiver died twice mid-run is parked as failed (its body stays) instead of crash-looping.
      maxStalledCount: 2,
    },
  );
  worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
    metrics.jobFailures.inc({ final: String(final) });
    logger[final ? 'error' : 'warn']({ eventId: job.id, attempt: job.attemptsMade, err: error.message }, final ? 'archive failed for good' : 'archive attempt failed, will retry');
  });
  worker.on('stalled', (jobId) => logger.warn({ eventId: jobId }, 'job stalled, it will run again'));

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
  orphanSweeper.start(10 * 60_000);

  let draining = false;
  const ready = async () => !draining && worker.isRunning() && (await isRedisReady(redis)) && (await isDatabaseReady(db));
  const ops = await startOpsServer({ port: env.ARCHIVER_METRICS_PORT, registry, ready });
  logger.info({ concurrency: env.ARCHIVER_CONCURRENCY, metricsPort: ops.port }, 'archiver running');

  return {
    name: 'archiver',
    metricsPort: ops.port,
    drain: () => {
      draining = true;
    },
    stop: async () => {
      draining = true;
      // close() lets active jobs finish; a job cut short by the shutdown deadline goes back to the queue as stalled.
      await worker.close();
      await orphanSweeper.stop();
      await devices.stop();
      await logs.close();
      await queue.close();
      await redis.quit().catch(() => redis.disconnect());
      await db.destroy();
      await ops.close();
    },
  };
}
