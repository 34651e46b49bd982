import { DelayedError, UnrecoverableError } from 'bullmq';
import type { IsapiClient } from '../../libs/isapi/index.js';
import { IsapiError } from '../../libs/isapi/index.js';
import type { JobContext } from '../../libs/jobs/queues.js';
import type { ProvisioningJobName } from '../../libs/jobs/provisioning.js';
import type { Logger } from '../../libs/logger/logger.js';
import type { DesiredState, DeviceConnection } from '../../libs/provisioning/desired-state.js';
import type { AuthFailureBudget } from './auth-failure-budget.js';
import type { DeviceCircuit } from './device-circuit.js';
import { DeviceBusyElsewhereError, type DeviceLocks } from './device-lock.js';
import type { DeviceSessions } from './device-sessions.js';
import type { ProvisionerMetrics } from './metrics.js';

/**
 * How long a job waits when its device's credentials were refused. A credentials update promotes
 * waiting jobs at once; the short recheck also catches a job parked just after that promotion.
 */
const AUTH_FAILED_RECHECK_MS = 60_000;
/** Tries for deviceError / timeouts / resets (the research note's "limited retry"). */
const LIMITED_RETRY_ATTEMPTS = 3;
/**
 * Jobs of one device allowed to wait inside this process: a fair share of the worker's slots
 * among the devices it is serving (never below 2). Past it a job steps aside (delayed) so the
 * slots serve other devices; with few devices, jobs simply wait their turn here.
 */
const MIN_LOCAL_LINE = 2;

export interface DeviceJobDeps {
  desired: DesiredState;
  sessions: DeviceSessions;
  locks: DeviceLocks;
  authBudget: AuthFailureBudget;
  circuit: DeviceCircuit;
  metrics: ProvisionerMetrics;
  logger: Logger;
  /** Jobs this worker runs at once (PROVISIONER_CONCURRENCY). */
  concurrency: number;
}

export interface DeviceWork<T> {
  operation: ProvisioningJobName;
  deviceId: string;
  context: JobContext;
  /** Runs holding the device (one request in flight per device); throws IsapiError on device failures. */
  run: (client: IsapiClient, device: DeviceConnection) => Promise<T>;
}

export type DeviceJobResult<T> = T | { skipped: string };

/**
 * Everything a provisioning job does around its ISAPI calls: find the device, respect
 * `auth_failed` and the lockout budget, take the per-device lock, turn each failure class
 * into the right BullMQ fate (retry with backoff, wait, or fail at once with the device's
 * subStatusCode as the job's result) and keep the device's status current.
 */
export function createDeviceJobRunner(deps: DeviceJobDeps) {
  const { desired, sessions, locks, authBudget, circuit, metrics, logger } = deps;

  async function defer(context: JobContext, operation: string, untilMs: number, reason: string): Promise<never> {
    metrics.jobs.inc({ operation, outcome: 'deferred' });
    logger.debug({ jobId: context.jobId, reason, delayMs: untilMs - Date.now() }, 'job deferred');
    await context.job.moveToDelayed(Math.max(untilMs, Date.now() + 50), context.token);
    throw new DelayedError(reason);
  }

  async function failForGood(context: JobContext, operation: string, error: IsapiError | Error): Promise<never> {
    metrics.jobs.inc({ operation, outcome: 'failed' });
    const details =
      error instanceof IsapiError
        ? { errorClass: error.errorClass, permanentKind: error.permanentKind ?? null, httpStatus: error.httpStatus ?? null, statusCode: error.statusCode ?? null, subStatusCode: error.subStatusCode ?? null, errorMsg: error.errorMsg ?? null }
        : { errorClass: 'permanent', subStatusCode: null };
    await context.job.updateProgress({ failed: details, message: error.message }).catch(() => {});
    throw new UnrecoverableError(error.message);
  }

  return async function runDeviceJob<T>(work: DeviceWork<T>): Promise<DeviceJobResult<T>> {
    const { operation, deviceId, context } = work;
    const started = process.hrtime.bigint();
    try {
      const fairShare = Math.max(MIN_LOCAL_LINE, Math.floor(deps.concurrency / Math.max(1, locks.activeDevices())));
      if (locks.lineLength(deviceId) >= fairShare) {
        // Step aside so this worker's slots serve other devices; come back when the line has moved.
        return await defer(context, operation, Date.now() + 250 * locks.lineLength(deviceId) * (0.5 + Math.random()), 'device busy in this process');
      }

      const result = await locks.withDevice(deviceId, async () => {
        // Read again under the lock: the job ahead in line may just have had its login refused.
        const current = await desired.deviceConnection(deviceId);
        if (!current) return { skipped: 'device no longer managed' } as DeviceJobResult<T>;
        if (current.status === 'auth_failed') return defer(context, operation, Date.now() + AUTH_FAILED_RECHECK_MS, 'device credentials were refused; waiting for new credentials');
        const blocked = await authBudget.blockedUntil(deviceId);
        if (blocked !== null) return defer(context, operation, blocked, 'lockout budget spent for this device');
        if (current.status === 'unreachable') {
          const openUntil = await circuit.openUntil(deviceId);
          if (openUntil !== null) return defer(context, operation, openUntil + Math.random() * 500, 'device unreachable; waiting before trying again');
        }
        try {
          const client = await sessions.clientFor(current);
          const value = await work.run(client, current);
          if (current.status !== 'online') {
            await desired.setDeviceStatus(deviceId, 'online', { error: null, credentialsVersion: current.credentialsVersion });
            await circuit.reset(deviceId);
          }
          return value;
        } catch (error) {
          // Still holding the device: the next job in line must see the refusal (or the open circuit) before it tries.
          if (error instanceof IsapiError && error.errorClass === 'auth') await recordRefusedLogin(deviceId, current.credentialsVersion, error);
          if (error instanceof IsapiError && isUnreachable(error)) {
            await desired.setDeviceStatus(deviceId, 'unreachable', { error: error.message, credentialsVersion: current.credentialsVersion });
            await circuit.trip(deviceId);
          }
          throw error;
        }
      });
      // A job whose subject is gone or changed hands (device deleted, person unassigned) did nothing.
      const skipped = typeof result === 'object' && result !== null && 'skipped' in result;
      metrics.jobs.inc({ operation, outcome: skipped ? 'skipped' : 'succeeded' });
      return result;
    } catch (error) {
      if (error instanceof DelayedError || error instanceof UnrecoverableError) throw error;
      if (error instanceof DeviceBusyElsewhereError) return await defer(context, operation, Date.now() + 500 + Math.random() * 1500, error.message);
      if (!(error instanceof IsapiError)) {
        // Postgres/Redis trouble or a bug: normal retry with backoff.
        metrics.jobs.inc({ operation, outcome: 'retried' });
        metrics.retries.inc({ operation });
        throw error;
      }
      return await handleIsapiError(work, error);
    } finally {
      metrics.jobDuration.observe({ operation }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };

  async function handleIsapiError<T>(work: DeviceWork<T>, error: IsapiError): Promise<never> {
    const { operation, deviceId, context } = work;
    const device = await desired.deviceConnection(deviceId);
    const credentialsVersion = device?.credentialsVersion;
    switch (error.errorClass) {
      case 'auth': {
        const unlockAt = error.lock?.unlockInSeconds ? Date.now() + error.lock.unlockInSeconds * 1000 : 0;
        return defer(context, operation, Math.max(unlockAt, Date.now() + AUTH_FAILED_RECHECK_MS), 'credentials refused');
      }
      case 'retry':
        await noteDeviceAnswered(deviceId, error, credentialsVersion);
        metrics.jobs.inc({ operation, outcome: 'retried' });
        metrics.retries.inc({ operation });
        throw error;
      case 'limited_retry':
        await noteDeviceAnswered(deviceId, error, credentialsVersion);
        if (context.attempt >= LIMITED_RETRY_ATTEMPTS) return failForGood(context, operation, error);
        metrics.jobs.inc({ operation, outcome: 'retried' });
        metrics.retries.inc({ operation });
        throw error;
      default:
        // permanent, unsupported (no alternate left), operator, or a converge signal the operation did not absorb.
        if (error.errorClass === 'operator') await desired.setDeviceStatus(deviceId, 'error', { error: error.message, ...(credentialsVersion ? { credentialsVersion } : {}) });
        return failForGood(context, operation, error);
    }
  }

  async function recordRefusedLogin(deviceId: string, credentialsVersion: string, error: IsapiError): Promise<void> {
    await sessions.forget(deviceId);
    // A refused login, or a lock answer to one: either way it counts against the budget.
    metrics.authFailures.inc();
    await authBudget.record(deviceId);
    await desired.setDeviceStatus(deviceId, 'auth_failed', { error: error.message, credentialsVersion });
    logger.warn({ deviceId, err: error.message }, 'device refused our credentials; its jobs wait for new credentials');
  }

  /** Busy or erroring devices answered, so they are online (with the error noted); unreachable ones were marked under the lock. */
  async function noteDeviceAnswered(deviceId: string, error: IsapiError, credentialsVersion: string | undefined): Promise<void> {
    if (isUnreachable(error) || error.transport === 'connection_reset') return;
    await desired.setDeviceStatus(deviceId, 'online', { error: error.message, ...(credentialsVersion ? { credentialsVersion } : {}) });
  }
}

export type RunDeviceJob = ReturnType<typeof createDeviceJobRunner>;

/** Nothing answered: the connection was refused or timed out. */
const isUnreachable = (error: IsapiError): boolean => error.transport === 'connect_failed' || error.transport === 'timeout';
