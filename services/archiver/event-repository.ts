import { sql } from 'kysely';
import type { Db } from '../../libs/db/database.js';
import { isDataException } from '../../libs/db/pg-safe.js';
import type { HikvisionEvent } from '../../libs/hikvision/event-model.js';
import { resolveDeviceTime } from '../../libs/hikvision/device-time.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import type { KnownDevice } from './device-registry.js';
import { BatchItemFailure, createMicroBatcher } from './micro-batcher.js';
import type { StoredPicture } from './picture-store.js';

export type InsertResult =
  /** A new row. */
  | 'inserted'
  /** This very event id is already archived (the job ran before and its ack was lost). */
  | 'already_archived'
  /** The device sent the same event again (same dedupe key) under a new request. */
  | 'duplicate'
  /** A resend that carries the pictures the first copy lacked: they are attached to the first copy. */
  | 'duplicate_pictures_adopted';

export interface EventToInsert {
  raw: RawEvent;
  event: HikvisionEvent;
  pictures: StoredPicture[];
  device: KnownDevice;
}

export interface EventRepositoryOptions {
  /** Most events in one INSERT. */
  maxBatch?: number;
  /** INSERT statements running at once (database connections held by event writes). */
  maxInFlight?: number;
  /** Told the size of every flush, by what was written ('events' rows, 'logged' marks). */
  observeBatch?: (write: 'events' | 'logged', size: number) => void;
}

/**
 * The archive's event rows, written for many concurrent jobs at once: rows that arrive while an
 * INSERT runs go together in the next one (one statement, one commit, for up to `maxBatch`
 * events and their pictures). Each caller still learns its own row's fate, exactly as if the rows
 * had been inserted one after the other in arrival order.
 */
export function createEventRepository(db: Db, options: EventRepositoryOptions = {}) {
  const inserts = createMicroBatcher<EventToInsert, InsertResult>({
    maxBatch: options.maxBatch ?? 200,
    maxInFlight: options.maxInFlight ?? 2,
    run: (rows) => insertBatch(db, rows),
    observe: (size) => options.observeBatch?.('events', size),
  });
  const logged = createMicroBatcher<string, void>({
    maxBatch: 1_000,
    run: async (ids) => {
      await sql`update events set logged_at = now() where id = any(${ids}::uuid[])`.execute(db);
      return ids.map(() => undefined);
    },
    observe: (size) => options.observeBatch?.('logged', size),
  });

  return {
    insert: (row: EventToInsert): Promise<InsertResult> => inserts.add(row),
    /** Records that the event's log lines are written (grouped into one UPDATE per flush). */
    markLogged: (eventId: string): Promise<void> => logged.add(eventId),
    isEventLogged: (eventId: string) => isEventLogged(db, eventId),
    isAlreadyHandled: (eventId: string) => isAlreadyHandled(db, eventId),
  };
}

export type EventRepository = ReturnType<typeof createEventRepository>;

/**
 * One statement for the batch. When Postgres refuses it for one row's sake — a value it cannot
 * store (class 22) or a device row deleted under the cache (class 23) — the rows go again one by
 * one, so only the culprit fails. Anything else (connection lost, Postgres down) fails the whole
 * batch with the original error.
 */
async function insertBatch(db: Db, rows: EventToInsert[]): Promise<(InsertResult | BatchItemFailure)[]> {
  // A job seen twice in one batch: only its first copy goes into the statement.
  const firstIndex = new Map<string, number>();
  rows.forEach((row, index) => firstIndex.has(row.raw.id) || firstIndex.set(row.raw.id, index));
  let inserted: Set<string>;
  try {
    inserted = await insertRows(db, [...firstIndex.values()].map((index) => rows[index]!));
  } catch (error) {
    if (!isRowProblem(error)) throw error;
    const results: (InsertResult | BatchItemFailure)[] = [];
    // In order, so that the first of two rows with one dedupe key still wins.
    for (const row of rows) results.push(await insertEvent(db, row).catch((rowError: unknown) => new BatchItemFailure(rowError)));
    return results;
  }

  const results = rows.map((row, index): InsertResult | undefined => (firstIndex.get(row.raw.id) === index && inserted.has(row.raw.id) ? 'inserted' : undefined));
  const conflicted = rows.filter((_, index) => results[index] === undefined);
  if (conflicted.length === 0) return results as InsertResult[];

  // Why an insert did nothing is most often settled by one look: the id is there (a re-run).
  const existing = await db.selectFrom('events').select('id').where('id', 'in', conflicted.map((row) => row.raw.id)).execute();
  const archived = new Set(existing.map((row) => row.id));
  for (const [index, row] of rows.entries()) {
    if (results[index] !== undefined) continue;
    if (archived.has(row.raw.id)) results[index] = 'already_archived';
    else if (!row.pictures.length || row.event.dedupeKey === null) results[index] = 'duplicate';
    // A resend that may bring the pictures the first copy lacked: rare, so one by one and in order.
    else results[index] = await resolveConflict(db, row);
  }
  return results as InsertResult[];
}

/** A data exception (class 22) or an integrity violation (class 23): one row's fault, so its batch is retried row by row. */
function isRowProblem(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return isDataException(error) || (typeof code === 'string' && code.startsWith('23'));
}

/**
 * The rows and their pictures in one statement (one round trip, one commit, atomic by itself).
 * Rows go in dedupe-key order, ties in arrival order: the first of two rows with one key wins,
 * and two replicas inserting the same keys take their locks in the same order (no deadlock).
 * Returns the ids actually inserted.
 */
async function insertRows(db: Db, rows: EventToInsert[]): Promise<Set<string>> {
  const values = rows.map(({ raw, event, device }) => ({ raw, event, device, occurredAt: device.timeZone ? resolveDeviceTime(event.deviceTime, device.timeZone) : event.occurredAt }));
  const column = <T>(pick: (row: (typeof values)[number]) => T): T[] => values.map(pick);
  const pictures = rows.flatMap(({ raw, pictures: stored }) => stored.map((picture) => ({ eventId: raw.id, picture })));
  const picture = <T>(pick: (p: StoredPicture) => T): T[] => pictures.map((entry) => pick(entry.picture));
  const { rows: returned } = await sql<{ id: string }>`
    with input as (
      select * from unnest(
        ${column((v) => v.raw.id)}::uuid[], ${column((v) => v.raw.receivedAt)}::timestamptz[], ${column((v) => v.occurredAt?.toISOString() ?? null)}::timestamptz[],
        ${column((v) => v.event.deviceTime)}::text[], ${column((v) => v.event.eventType)}::text[], ${column((v) => v.event.eventState)}::text[],
        ${column((v) => v.event.family)}::text[], ${column((v) => v.event.macAddress)}::text[], ${column((v) => v.event.ipAddress)}::text[],
        ${column((v) => v.raw.remoteAddress)}::text[], ${column((v) => v.device.id)}::bigint[], ${column((v) => v.event.channelId)}::int[],
        ${column((v) => v.event.channelName)}::text[], ${column((v) => v.raw.path)}::text[], ${column((v) => v.event.majorEventType)}::int[],
        ${column((v) => v.event.minorEventType)}::int[], ${column((v) => v.event.employeeNo)}::text[], ${column((v) => v.event.personName)}::text[],
        ${column((v) => v.event.cardNo)}::text[], ${column((v) => v.event.serialNo)}::text[], ${column((v) => v.event.licensePlate)}::text[],
        ${column((v) => v.event.verifyResult)}::text[], ${column((v) => v.event.dedupeKey)}::text[], ${column((v) => JSON.stringify(v.event.document))}::text[]
      ) with ordinality as t(id, received_at, occurred_at, device_time, event_type, event_state, event_family, mac_address, ip_address,
        remote_address, device_id, channel_id, channel_name, source_path, major_event_type, minor_event_type, employee_no, person_name,
        card_no, serial_no, license_plate, verify_result, dedupe_key, payload, arrival)
    ),
    inserted as (
      insert into "events" (id, received_at, occurred_at, device_time, event_type, event_state, event_family, mac_address, ip_address,
        remote_address, device_id, channel_id, channel_name, source_path, major_event_type, minor_event_type, employee_no, person_name,
        card_no, serial_no, license_plate, verify_result, dedupe_key, payload)
      select id, received_at, occurred_at, device_time, event_type, event_state, event_family, mac_address, ip_address,
        remote_address, device_id, channel_id, channel_name, source_path, major_event_type, minor_event_type, employee_no, person_name,
        card_no, serial_no, license_plate, verify_result, dedupe_key, payload::jsonb
      from input order by dedupe_key nulls last, arrival
      on conflict do nothing
      returning id
    ),
    pictures as (
      insert into event_pictures (event_id, position, part_name, path, bytes, sha256, content_type)
      select p.event_id, p.position, p.part_name, p.path, p.bytes, p.sha256, p.content_type
      from unnest(
        ${pictures.map((entry) => entry.eventId)}::uuid[], ${picture((p) => p.index)}::int[], ${picture((p) => p.partName)}::text[], ${picture((p) => p.path)}::text[],
        ${picture((p) => p.bytes)}::int[], ${picture((p) => p.sha256)}::text[], ${picture((p) => p.contentType)}::text[]
      ) as p(event_id, position, part_name, path, bytes, sha256, content_type)
      join inserted on inserted.id = p.event_id
    )
    select id from inserted`.execute(db);
  return new Set(returned.map((row) => row.id));
}

/** One event by itself, when its batch could not go as one statement. */
async function insertEvent(db: Db, row: EventToInsert): Promise<InsertResult> {
  const inserted = await insertRows(db, [row]);
  if (inserted.size) return 'inserted';
  return resolveConflict(db, row);
}

/** Why the insert did nothing: a re-run of this job, or a resend — which may bring pictures the first copy lacked. */
async function resolveConflict(db: Db, { raw, event, pictures }: EventToInsert): Promise<InsertResult> {
  return db.transaction().execute(async (trx) => {
    const same = await trx.selectFrom('events').select('id').where('id', '=', raw.id).executeTakeFirst();
    if (same) return 'already_archived';
    if (!pictures.length || event.dedupeKey === null) return 'duplicate';
    const first = await trx.selectFrom('events').select('id').where('dedupe_key', '=', event.dedupeKey).forUpdate().executeTakeFirst();
    if (!first) return 'duplicate';
    const existing = await trx.selectFrom('event_pictures').select('path').where('event_id', '=', first.id).execute();
    if (existing.some((row) => pictures.some((picture) => picture.path === row.path))) return 'duplicate_pictures_adopted'; // this job ran before
    if (existing.length) return 'duplicate';
    await trx
      .insertInto('event_pictures')
      .values(
        pictures.map((picture) => ({
          event_id: first.id,
          position: picture.index,
          part_name: picture.partName,
          path: picture.path,
          bytes: picture.bytes,
          sha256: picture.sha256,
          content_type: picture.contentType,
        })),
      )
      .execute();
    return 'duplicate_pictures_adopted';
  });
}

async function isEventLogged(db: Db, eventId: string): Promise<boolean> {
  const row = await db.selectFrom('events').select('logged_at').where('id', '=', eventId).executeTakeFirst();
  return row?.logged_at != null;
}

async function isAlreadyHandled(db: Db, eventId: string): Promise<boolean> {
  const found = await db
    .selectFrom('events')
    .select('id')
    .where('id', '=', eventId)
    .unionAll(db.selectFrom('quarantined_events').select('id').where('id', '=', eventId))
    .executeTakeFirst();
  return found !== undefined;
}
