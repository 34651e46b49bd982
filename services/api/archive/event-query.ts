import { sql, type SelectQueryBuilder } from 'kysely';
import type { Db } from '../../../libs/db/database.js';
import type { Database, EventsTable } from '../../../libs/db/schema.js';
import type { EventFilter } from './event-filter.js';
import { decodeKeysetCursor, encodeKeysetCursor, keysetKey } from './keyset-cursor.js';

/**
 * The SQL of the events endpoints, built in one place (the route, the live stream, the CSV
 * export and the EXPLAIN test all use these builders). Every page is newest first by
 * (received_at, id) with a keyset cursor, matching the (…, received_at desc, id desc) indexes
 * of migration 0005: a page reads `limit` index entries, however deep it is.
 */

/** The exact received_at (microseconds, UTC) as text: JavaScript dates keep only milliseconds. */
const RECEIVED_AT_KEY = keysetKey('e.received_at');

export interface EventPosition {
  receivedAtKey: string;
  id: string;
}

export const encodeCursor = (position: EventPosition): string => encodeKeysetCursor({ key: position.receivedAtKey, id: position.id });

export function decodeCursor(cursor: string): EventPosition {
  const { key, id } = decodeKeysetCursor(cursor);
  return { receivedAtKey: key, id };
}

/** `%` `_` and `\` are LIKE wildcards/escape: a name search is a plain substring. */
const likeSubstring = (text: string) => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

type EventsQuery<O> = SelectQueryBuilder<Database & { e: EventsTable }, 'e', O>;

function applyFilter<O>(query: EventsQuery<O>, filter: EventFilter): EventsQuery<O> {
  let q = query;
  if (filter.from) q = q.where('e.received_at', '>=', filter.from);
  if (filter.to) q = q.where('e.received_at', '<', filter.to);
  if (filter.deviceId !== undefined) q = q.where('e.device_id', '=', filter.deviceId);
  if (filter.eventType !== undefined) q = q.where('e.event_type', '=', filter.eventType);
  if (filter.family !== undefined) q = q.where('e.event_family', '=', filter.family);
  if (filter.employeeNo !== undefined) q = q.where('e.employee_no', '=', filter.employeeNo);
  if (filter.name !== undefined) q = q.where(sql<boolean>`e.person_name ilike ${likeSubstring(filter.name)}`);
  // upper(...) is the expression the plate index is built on.
  if (filter.plate !== undefined) q = q.where(sql<boolean>`upper(e.license_plate) = upper(${filter.plate})`).where('e.license_plate', 'is not', null);
  if (filter.hasPicture !== undefined) {
    const anyPicture = sql<boolean>`exists (select 1 from event_pictures p where p.event_id = e.id)`;
    q = q.where(filter.hasPicture ? anyPicture : sql<boolean>`not ${anyPicture}`);
  }
  return q;
}

export const EVENT_COLUMNS = [
  'e.id', 'e.received_at', 'e.occurred_at', 'e.device_time', 'e.event_type', 'e.event_state', 'e.event_family', 'e.remote_address',
  'e.device_id', 'e.channel_id', 'e.channel_name', 'e.source_path', 'e.major_event_type', 'e.minor_event_type', 'e.employee_no',
  'e.person_name', 'e.card_no', 'e.license_plate', 'e.verify_result',
] as const;

const DOOR_NO = sql<string | null>`e.payload -> 'AccessControllerEvent' ->> 'doorNo'`;

function selectEvents(db: Db) {
  return db.selectFrom('events as e').select([...EVENT_COLUMNS, RECEIVED_AT_KEY.as('received_at_key'), DOOR_NO.as('door_no')]);
}

export type EventRow = Awaited<ReturnType<ReturnType<typeof selectEvents>['execute']>>[number];

/** One page, newest first, after `cursor` (exclusive). Ask for limit + 1 to learn whether another page exists. */
export function eventPageQuery(db: Db, filter: EventFilter, options: { limit: number; after?: EventPosition }) {
  let query = applyFilter(selectEvents(db), filter);
  if (options.after) query = query.where(sql<boolean>`(e.received_at, e.id) < (${options.after.receivedAtKey}::timestamptz, ${options.after.id}::uuid)`);
  return query.orderBy('e.received_at', 'desc').orderBy('e.id', 'desc').limit(options.limit);
}

/** Matching events archived after the event `sinceId`, oldest first (the live stream's replay). Empty when that event is unknown. */
export function eventsAfterQuery(db: Db, filter: EventFilter, options: { sinceId: string; limit: number }) {
  return applyFilter(selectEvents(db), filter)
    .where(sql<boolean>`(e.received_at, e.id) > (select s.received_at, s.id from events s where s.id = ${options.sinceId}::uuid)`)
    .orderBy('e.received_at', 'asc')
    .orderBy('e.id', 'asc')
    .limit(options.limit);
}

export function eventsByIdsQuery(db: Db, ids: string[]) {
  return selectEvents(db).where('e.id', 'in', ids.length ? ids : ['00000000-0000-0000-0000-000000000000']);
}

export function eventDetailQuery(db: Db, id: string) {
  return selectEvents(db).select('e.payload').where('e.id', '=', id);
}

export const positionOf = (row: { received_at_key: string; id: string }): EventPosition => ({ receivedAtKey: row.received_at_key, id: row.id });
