import type { Router } from 'express';
import { API_PREFIX, type ApiContext } from '../context.js';
import { pickFilter, streamEventsQuerySchema } from '../archive/event-filter.js';
import { eventsAfterQuery } from '../archive/event-query.js';
import { summarize, type EventSummary } from '../archive/event-summary.js';
import { parse } from '../validation.js';

/** Events replayed after Last-Event-ID / ?since, at most (a longer gap: page GET /events instead). */
export const STREAM_REPLAY_LIMIT = 1_000;
/** Bytes a client may leave unread before it is dropped (EventSource reconnects with Last-Event-ID). */
export const STREAM_MAX_BUFFERED_BYTES = 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Server-Sent Events: each newly archived event matching the filters as `id/event/data`, a
 * keep-alive comment every 15 s, `retry: 3000`. On reconnect (Last-Event-ID) or with ?since=<id>
 * the matching events archived after that one are replayed first, oldest first.
 */
export function registerEventStreamRoute(router: Router, { archive, eventStream, logger }: ApiContext): void {
  router.get(`${API_PREFIX}/events/stream`, async (req, res) => {
    const query = parse(streamEventsQuerySchema, req.query, 'query');
    const lastEventId = req.headers['last-event-id'];
    const since = typeof lastEventId === 'string' && UUID.test(lastEventId.trim()) ? lastEventId.trim().toLowerCase() : query.since?.toLowerCase();
    const filter = pickFilter(query);

    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.write('retry: 3000\n\n');

    let open = true;
    // While a replay runs, a live event may also be in the replay: remember what went out.
    let remember = since !== undefined;
    const sent = new Set<string>();
    let held: EventSummary[] | null = since ? [] : null;
    // Dropping is never silent loss: EventSource reconnects with the last id it got and is replayed from there.
    const drop = (why: string, details: Record<string, unknown>) => {
      logger.warn(details, `event stream client dropped: ${why}`);
      eventStream.recordDropped();
      close();
      res.destroy();
    };
    const write = (summary: EventSummary) => {
      if (!open || sent.has(summary.id)) return;
      if (remember) sent.add(summary.id);
      res.write(`id: ${summary.id}\nevent: event\ndata: ${JSON.stringify(summary)}\n\n`);
      if (res.writableLength > STREAM_MAX_BUFFERED_BYTES) drop('it reads too slowly', { bufferedBytes: res.writableLength });
    };
    const unsubscribe = eventStream.subscribe({
      filter,
      deliver: (summary) => {
        if (held) {
          // Live events held while the replay runs, bounded like the socket buffer.
          if (held.length < STREAM_REPLAY_LIMIT) held.push(summary);
          else drop('too many live events arrived during its replay', { held: held.length });
          return;
        }
        write(summary);
      },
      end: () => {
        close();
        res.end();
      },
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    function close() {
      if (!open) return;
      open = false;
      clearInterval(keepAlive);
      unsubscribe();
    }
    req.on('close', close);
    res.on('close', close);

    if (since) {
      try {
        const rows = await eventsAfterQuery(archive, filter, { sinceId: since, limit: STREAM_REPLAY_LIMIT }).execute();
        for (const summary of await summarize(archive, rows)) write(summary);
      } catch (error) {
        // Going on without the replay would skip events; the client retries the replay instead.
        drop('its replay failed', { err: error });
        return;
      }
      const live = held ?? [];
      held = null;
      for (const summary of live) write(summary);
      // Only the replay can repeat a live event; from here on nothing needs remembering.
      remember = false;
      sent.clear();
    }
  });
}
