import { UnrecoverableError } from 'bullmq';
import { isDataException, pgSafeJson, pgSafeText } from '../../libs/db/pg-safe.js';
import { ParseFailure, type HikvisionEvent } from '../../libs/hikvision/event-model.js';
import { parseRequest } from '../../libs/hikvision/parse-request.js';
import { BodyMissingError, readBody } from '../../libs/jobs/body-store.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { Logger } from '../../libs/logger/logger.js';
import type { RedisClient } from '../../libs/redis/connection.js';
import type { BodyCleanup } from './body-cleanup.js';
import type { DailyLogs } from './daily-logs.js';
import type { DeviceRegistry } from './device-registry.js';
import type { EventRepository } from './event-repository.js';
import { sniffHeartbeat } from './heartbeat-sniff.js';
import type { ArchiveOutcome, ArchiverMetrics } from './metrics.js';
import type { PictureStore } from './picture-store.js';
import type { Quarantine } from './quarantine.js';

export interface ArchiveDependencies {
  /** Reads bodies; their removal goes through `bodies`. */
  redis: RedisClient;
  bodies: BodyCleanup;
  events: EventRepository;
  devices: DeviceRegistry;
  pictures: PictureStore;
  logs: DailyLogs;
  quarantine: Quarantine;
  metrics: ArchiverMetrics;
  logger: Logger;
  archiveHeartbeats: boolean;
  defaultTimeZone: string | undefined;
}

/**
 * Archive one raw event, safe to run any number of times for the same job:
 * pictures first (deterministic names), then one atomic statement for the event and its pictures,
 * then the daily log lines (once, tracked by events.logged_at), and only then the body leaves Redis.
 * The writes of concurrent jobs are batched underneath (event rows, log lines, logged marks, body
 * removals), each job still waiting for its own.
 */
export function createArchiveHandler(deps: ArchiveDependencies) {
  const { redis, events, bodies, metrics } = deps;

  return async function archiveEvent(raw: RawEvent): Promise<{ outcome: ArchiveOutcome }> {
    const started = process.hrtime.bigint();
    const finish = (outcome: ArchiveOutcome, family: string) => {
      metrics.events.inc({ outcome, family });
      metrics.jobDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return { outcome };
    };

    let body: Buffer;
    try {
      body = await readBody(redis, raw.body.key, raw.body.chunks);
    } catch (error) {
      if (!(error instanceof BodyMissingError)) throw error;
      // The body goes only after a commit: a job that finds it gone already did its work.
      if (await events.isAlreadyHandled(raw.id)) return finish('already_archived', 'unknown');
      throw new UnrecoverableError(`body of event ${raw.id} is missing from Redis and the event was never archived`);
    }

    const receivedAt = new Date(raw.receivedAt);
    // Heartbeats (counters only) take a path of their own: the device's counter in memory and the body's removal.
    const countHeartbeat = async (event: HikvisionEvent) => {
      const sighting = { event, remoteAddress: raw.remoteAddress, seenAt: receivedAt };
      deps.devices.record(await deps.devices.resolve(sighting), 'heartbeat', sighting);
      await bodies.remove(raw.body.key);
      return finish('heartbeat', event.family);
    };
    if (!deps.archiveHeartbeats) {
      const heartbeat = sniffHeartbeat(raw.headers['content-type'], body, deps.defaultTimeZone);
      if (heartbeat) return countHeartbeat(heartbeat);
    }

    const quarantine = async (reason: string, code: string) => {
      await deps.quarantine(raw, body, pgSafeText(reason), code);
      metrics.parseFailures.inc({ code });
      deps.logger.warn({ eventId: raw.id, path: raw.path, code, reason }, 'event quarantined');
      await bodies.remove(raw.body.key);
      return finish('quarantined', 'unknown');
    };

    let parsed;
    try {
      parsed = await parseRequest({ contentType: raw.headers['content-type'], body, defaultTimeZone: deps.defaultTimeZone });
    } catch (error) {
      if (!(error instanceof ParseFailure)) throw error;
      return quarantine(error.reason, error.code);
    }

    // NULs and lone surrogates from a device would make the row unstorable on every retry.
    const event = pgSafeJson(parsed.event);
    if (event.isHeartbeat && !deps.archiveHeartbeats) return countHeartbeat(event);
    const sighting = { event, remoteAddress: raw.remoteAddress, seenAt: receivedAt };
    const device = await deps.devices.resolve(sighting);
    if (event.isHeartbeat) deps.devices.record(device, 'heartbeat', sighting);

    const stored = await deps.pictures.save(raw.id, receivedAt, parsed.pictures);
    const writeStarted = process.hrtime.bigint();
    let result;
    try {
      result = await events.insert({ raw, event, pictures: stored, device });
    } catch (error) {
      // A device row deleted under our cache: forget it so the retry recreates it.
      if ((error as { code?: string }).code === '23503') deps.devices.forget(sighting);
      if (!isDataException(error)) throw error;
      // Postgres refuses the values themselves (out of range, bad encoding): no retry can fix that.
      await deps.pictures.remove(stored);
      return quarantine(`Postgres cannot store this event: ${(error as Error).message}`, 'unstorable');
    }
    metrics.dbWriteDuration.observe(Number(process.hrtime.bigint() - writeStarted) / 1e9);
    if (result === 'inserted') deps.devices.record(device, 'event', sighting);

    if (result === 'duplicate_pictures_adopted') {
      await bodies.remove(raw.body.key);
      return finish('duplicate', event.family);
    }
    if (result === 'duplicate') {
      // Same event resent by the device under a new request: the first copy keeps its pictures.
      await deps.pictures.remove(stored);
      await bodies.remove(raw.body.key);
      return finish('duplicate', event.family);
    }

    if (result === 'inserted' || !(await events.isEventLogged(raw.id))) {
      await deps.logs.write(raw, event, stored);
      await events.markLogged(raw.id);
    }
    if (result === 'inserted') {
      metrics.pictureBytes.inc(stored.reduce((sum, picture) => sum + picture.bytes, 0));
      metrics.eventLag.observe((Date.now() - receivedAt.getTime()) / 1000);
    }
    await bodies.remove(raw.body.key);
    return finish(result === 'inserted' ? 'archived' : 'already_archived', event.family);
  };
}
