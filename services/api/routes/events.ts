import type { Router } from 'express';
import { API_PREFIX, type ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { listEventsQuerySchema, pickFilter } from '../archive/event-filter.js';
import { decodeCursor, encodeCursor, eventDetailQuery, eventPageQuery, positionOf } from '../archive/event-query.js';
import { summarize } from '../archive/event-summary.js';
import { parse } from '../validation.js';
import { registerEventExportRoute } from './event-export.js';
import { registerEventStreamRoute } from './event-stream.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Archived events: filtered pages newest first, one event with its document, a live stream, a CSV export. */
export function registerEventRoutes(router: Router, context: ApiContext): void {
  const { archive } = context;
  const base = `${API_PREFIX}/events`;
  // Before /events/:id, which would otherwise take "stream" and "export.csv" for ids.
  registerEventStreamRoute(router, context);
  registerEventExportRoute(router, context);

  router.get(base, async (req, res) => {
    const query = parse(listEventsQuerySchema, req.query, 'query');
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await eventPageQuery(archive, pickFilter(query), { limit: query.limit + 1, after }).execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    res.json({ items: await summarize(archive, page), nextCursor: rows.length > query.limit && last ? encodeCursor(positionOf(last)) : null });
  });

  router.get(`${base}/:id`, async (req, res) => {
    const id = req.params.id;
    if (!UUID.test(id)) throw notFound(`event ${id} not found`);
    const row = await eventDetailQuery(archive, id.toLowerCase()).executeTakeFirst();
    if (!row) throw notFound(`event ${id} not found`);
    const [summary] = await summarize(archive, [row]);
    res.json({ ...summary, payload: row.payload });
  });
}
