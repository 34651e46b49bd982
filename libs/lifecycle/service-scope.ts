import type { Registry } from 'prom-client';
import { createDb, ensureDatabaseExists, isDatabaseReady, type Db } from '../db/database.js';
import { assertMigrated, migrateToLatest } from '../db/migrator.js';
import { startOpsServer, type ReadinessCheck } from '../http/ops-server.js';
import type { Logger } from '../logger/logger.js';
import type { PeriodicTask } from './periodic-task.js';
import type { RunningService } from './run-services.js';

/**
 * What every hikhub service does around its own work: open its database (created when missing,
 * migrated or checked), own what it starts and stop it in reverse order — once, every step even
 * when an earlier one failed, and also when start-up fails half-way — answer readiness (503 from
 * the moment it drains) and serve /metrics, /healthz, /readyz until the very end.
 */
export class ServiceScope {
  private readonly steps: { name: string; run: () => Promise<unknown> | unknown }[] = [];
  private readonly checks: ReadinessCheck[] = [];
  private draining = false;
  private stopping: Promise<void> | undefined;
  private ops: { port: number; close: () => Promise<void> } | undefined;

  constructor(
    readonly name: string,
    private readonly logger: Logger,
  ) {}

  /** Run `run` at stop, before everything registered earlier (last in, first out). */
  onStop(name: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ name, run });
  }

  /** Readiness also needs this; checks run in the order given, the first false answers. */
  readyWhen(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /** The service's Postgres: created when missing, migrated (MIGRATE_ON_START) or checked, closed at stop. */
  async database(env: { DATABASE_URL: string; DB_POOL_SIZE: number; MIGRATE_ON_START: boolean }): Promise<Db> {
    if (await ensureDatabaseExists(env.DATABASE_URL)) this.logger.info('database created');
    const db = createDb(env.DATABASE_URL, env.DB_POOL_SIZE);
    this.onStop('database', () => db.destroy());
    if (env.MIGRATE_ON_START) await migrateToLatest(db, this.logger);
    else await assertMigrated(db);
    this.readyWhen(() => isDatabaseReady(db));
    return db;
  }

  /** Start a periodic task with the service; stopping waits for its running tick. */
  task(name: string, task: PeriodicTask, options?: { immediately?: boolean }): PeriodicTask {
    task.start(options);
    this.onStop(name, () => task.stop());
    return task;
  }

  async ready(): Promise<boolean> {
    if (this.draining) return false;
    for (const check of this.checks) if (!(await check())) return false;
    return true;
  }

  /** The ops port (0 = any free one); closed after every stop step, so a stopping service can still be scraped. */
  async serveOps(port: number, registry: Registry): Promise<number> {
    const ops = await startOpsServer({ port, registry, ready: () => this.ready() });
    this.ops = ops;
    return ops.port;
  }

  drain(): void {
    this.draining = true;
  }

  stop(): Promise<void> {
    this.draining = true;
    this.stopping ??= this.runStopSteps();
    return this.stopping;
  }

  private async runStopSteps(): Promise<void> {
    for (const step of [...this.steps].reverse()) {
      try {
        await step.run();
      } catch (error) {
        // Keep going: a connection that fails to close must not keep the others open.
        this.logger.error({ err: error, service: this.name, step: step.name }, 'stop step failed');
      }
    }
    await this.ops?.close();
  }
}

/**
 * Build a service inside a scope. A failure part-way (port in use, migration refused) stops what
 * was already started before it is rethrown, so no connection keeps the process alive.
 */
export async function startService<T extends object>(
  name: string,
  logger: Logger,
  build: (scope: ServiceScope) => Promise<T>,
): Promise<T & RunningService> {
  const scope = new ServiceScope(name, logger);
  try {
    const service = await build(scope);
    return { ...service, name, drain: () => scope.drain(), stop: () => scope.stop() };
  } catch (error) {
    await scope.stop();
    throw error;
  }
}
