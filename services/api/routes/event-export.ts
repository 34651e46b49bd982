import type { Response, Router } from 'express';
import { API_PREFIX, type ApiContext } from '../context.js';
import { csvRow } from '../archive/csv.js';
import { exportEventsQuerySchema, pickFilter } from '../archive/event-filter.js';
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

/** Waits until the socket takes more, so a large export never piles up in memory. */
const drained = (res: Response) => new Promise<void>((resolve) => {
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
    // The first batch before any byte is sent: a database error is still a proper 503/500.
    let rows = await eventPageQuery(archive, filter, { limit: BATCH_ROWS }).execute();
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.status(200).set({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="hikhub-events-${stamp}.csv"`,
      'x-hikhub-export-max-rows': String(EXPORT_MAX_ROWS),
      trailer: 'X-Hikhub-Export-Truncated',
    });
    res.write(csvRow(HEADER));
    let written = 0;
    let truncated = false;
    while (rows.length && !res.destroyed) {
      const room = EXPORT_MAX_ROWS - written;
      const batch = rows.slice(0, room);
      for (const summary of await summarize(archive, batch)) {
        if (!res.write(csvRow(toCells(summary)))) await drained(res);
      }
      written += batch.length;
      if (rows.length < BATCH_ROWS) break;
      const after: EventPosition = positionOf(batch.at(-1)!);
      if (written >= EXPORT_MAX_ROWS) {
        truncated = (await eventPageQuery(archive, filter, { limit: 1, after }).execute()).length > 0;
        break;
      }
      rows = await eventPageQuery(archive, filter, { limit: BATCH_ROWS, after }).execute();
    }
    if (res.destroyed) return;
    res.addTrailers({ 'X-Hikhub-Export-Truncated': String(truncated) });
    res.end();
  });
}
