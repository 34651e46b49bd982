import type { Response, Router } from 'express';
import type { Db } from '../../../libs/db/database.js';
import { API_PREFIX, type ApiContext } from '../context.js';
import { csvRow } from '../archive/csv.js';
import { exportEventsQuerySchema, pickFilter, type EventFilter } from '../archive/event-filter.js';
import { eventPageQuery, positionOf, type EventPosition } from '../archive/event-query.js';
import { summarize, type EventSummary } from '../archive/event-summary.js';
import { parse } from '../validation.js';

/** Rows in one export at most; narrow the time range for more (the trailer says when it was cut). */
export const EXPORT_MAX_ROWS = 1_000_000;
const BATCH_ROWS = 1_000;

const HEADER = [
  'id', 'receivedAt', 'occurredAt', 'deviceTime', 'deviceName', 'deviceId', 'deviceIp', 'eventType', 'eventState', 'eventFamily',
  'employeeNo', 'personName', 'cardNo', 'licensePlate', 'verifyResult', 'doorNo', 'pictures',
];

const toCells = (event: EventSummary) => [
  event.id, event.receivedAt, event.occurredAt, event.deviceTime, event.device?.name, event.device?.id, event.device?.ipAddress,
  event.eventType, event.eventState, event.eventFamily, event.employeeNo, event.personName, event.cardNo, event.licensePlate,
  event.verifyResult, event.doorNo, event.pictures.length,
];

/**
 * Waits until the socket takes more, so a large export never piles up in memory. A response
 * already destroyed (the client left) emits neither 'drain' nor 'close' again: no wait then.
 */
const drained = (res: Response) => new Promise<void>((resolve) => {
  if (res.destroyed) return resolve();
  const done = () => {
    res.off('drain', done);
    res.off('close', done);
    resolve();
  };
  res.on('drain', done);
  res.on('close', done);
});

/**
 * The filtered range as CSV, newest first, streamed in keyset batches of 1,000 (never the whole
 * range in memory), at most EXPORT_MAX_ROWS rows. The trailer `X-Hikhub-Export-Truncated` says
 * whether rows were left out.
 */
export function registerEventExportRoute(router: Router, { archive }: ApiContext): void {
  router.get(`${API_PREFIX}/events/export.csv`, async (req, res) => {
    const filter = pickFilter(parse(exportEventsQuerySchema, req.query, 'query'));
    await writeEventsCsv(res, archive, filter);
  });
}

export interface CsvExportOutcome {
  rows: number;
  truncated: boolean;
  /** False when the client went away before the end. */
  completed: boolean;
}

/** Writes the whole answer (status, headers, rows, trailer); resolves when it is sent or the client left. */
export async function writeEventsCsv(res: Response, archive: Db, filter: EventFilter): Promise<CsvExportOutcome> {
  // The first batch before any byte is sent: a database error is still a proper 503/500.
  let rows = await eventPageQuery(archive, filter, { limit: BATCH_ROWS }).execute();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  res.status(200).set({
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="hikhub-events-${stamp}.csv"`,
    'x-hikhub-export-max-rows': String(EXPORT_MAX_ROWS),
  });
  // HEAD: the headers only, without running the export just to discard it.
  if (res.req.method === 'HEAD') {
    res.end();
    return { rows: 0, truncated: false, completed: true };
  }
  // Only a chunked answer carries a trailer; announcing one on any other (an HTTP/1.0 client)
  // makes Node throw when the headers go out. HTTP/1.0 clients get the rows without it.
  const trailer = res.req.httpVersionMajor > 1 || (res.req.httpVersionMajor === 1 && res.req.httpVersionMinor >= 1);
  if (trailer) res.set('trailer', 'X-Hikhub-Export-Truncated');
  res.write(csvRow(HEADER));
  let written = 0;
  let truncated = false;
  while (rows.length && !res.destroyed) {
    const batch = rows.slice(0, EXPORT_MAX_ROWS - written);
    for (const summary of await summarize(archive, batch)) {
      if (res.destroyed) break;
      const room = res.write(csvRow(toCells(summary)));
      written += 1;
      if (!room) await drained(res);
    }
    if (res.destroyed) break;
    if (rows.length < BATCH_ROWS) break;
    const after: EventPosition = positionOf(batch.at(-1)!);
    if (written >= EXPORT_MAX_ROWS) {
      truncated = (await eventPageQuery(archive, filter, { limit: 1, after }).execute()).length > 0;
      break;
    }
    rows = await eventPageQuery(archive, filter, { limit: BATCH_ROWS, after }).execute();
  }
  if (res.destroyed) return { rows: written, truncated, completed: false };
  if (trailer) res.addTrailers({ 'X-Hikhub-Export-Truncated': String(truncated) });
  res.end();
  return { rows: written, truncated, completed: true };
}
