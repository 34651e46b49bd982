import pg from 'pg';
import type { Db } from '../../../libs/db/database.js';
import type { Logger } from '../../../libs/logger/logger.js';
import type { ApiMetrics } from '../metrics.js';
import { matchesFilter, type EventFilter } from './event-filter.js';
import { eventsAfterQuery, eventsByIdsQuery, type EventRow } from './event-query.js';
import { summarize, type EventSummary } from './event-summary.js';

/** The channel migration 0005's trigger notifies with each archived event's id. */
export const EVENTS_CHANNEL = 'hikhub_events';

export interface StreamSubscriber {
  filter: EventFilter;
  deliver(summary: EventSummary): void;
  /** The hub is closing (shutdown): end the response. */
  end(): void;
}

export interface EventStreamOptions {
  databaseUrl: string;
  db: Db;
  logger: Logger;
  metrics: ApiMetrics;
  /** Notified ids are collected this long, then loaded in one query. */
  batchMs?: number;
}

/** Events caught up after the LISTEN connection was lost, at most (older gaps: the client pages the list). */
const CATCH_UP_LIMIT = 1_000;
const BACKOFF_MS = { base: 500, cap: 30_000 };

/**
 * Live events for every SSE client of this API process, over ONE dedicated Postgres connection
 * that LISTENs on `hikhub_events`. Notified ids are batched (~100 ms), their summaries loaded in
 * one query, and each goes to the subscribers whose filter matches. The connection is re-opened
 * with backoff when lost, and events archived meanwhile are caught up from the last one seen.
 */
export class EventStreamHub {
  private readonly subscribers = new Set<StreamSubscriber>();
  private readonly pendingIds = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private client: pg.Client | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private lastSeenId: string | undefined;
  private wakeUp: (() => void) | undefined;
  /**
   * What the last catch-up delivered. An event committed after LISTEN resumed but before the
   * catch-up query read is in both the catch-up and a notification: sent once. At most CATCH_UP_LIMIT ids.
   */
  private caughtUpIds = new Set<string>();

  constructor(private readonly options: EventStreamOptions) {}

  start(): void {
    this.running ??= this.listenLoop();
  }

  /** A subscriber was dropped for reading too slowly. */
  recordDropped(): void {
    this.options.metrics.eventStreamDropped.inc();
  }

  get clientCount(): number {
    return this.subscribers.size;
  }

  subscribe(subscriber: StreamSubscriber): () => void {
    if (this.closed) {
      // Shutting down: a stream opened now would never be ended, and the server would wait on it.
      queueMicrotask(() => subscriber.end());
      return () => undefined;
    }
    this.subscribers.add(subscriber);
    this.options.metrics.eventStreamClients.set(this.subscribers.size);
    return () => {
      this.subscribers.delete(subscriber);
      this.options.metrics.eventStreamClients.set(this.subscribers.size);
    };
  }

  /** Ends every stream and the LISTEN connection (part of the API's stop). */
  async close(): Promise<void> {
    this.closed = true;
    for (const subscriber of [...this.subscribers]) subscriber.end();
    this.subscribers.clear();
    this.options.metrics.eventStreamClients.set(0);
    clearTimeout(this.flushTimer);
    this.wakeUp?.();
    await this.client?.end().catch(() => {});
    await this.running;
    await this.flushing;
  }

  private async listenLoop(): Promise<void> {
    const { logger, metrics } = this.options;
    let failures = 0;
    let connectedBefore = false;
    while (!this.closed) {
      const client = new pg.Client({ connectionString: this.options.databaseUrl, keepAlive: true, application_name: 'hikhub-api-events-listen', connectionTimeoutMillis: 5_000 });
      this.client = client;
      const lost = new Promise<unknown>((resolve) => {
        client.once('end', () => resolve(new Error('connection ended')));
        client.once('error', resolve);
      });
      try {
        await client.connect();
        client.on('notification', (message) => {
          if (message.channel === EVENTS_CHANNEL && message.payload) this.notified(message.payload);
        });
        await client.query(`listen ${EVENTS_CHANNEL}`);
        failures = 0;
        metrics.eventStreamListening.set(1);
        logger.info({ reconnected: connectedBefore }, 'listening for archived events');
        // Whatever was archived while we were not listening.
        if (connectedBefore && this.lastSeenId) this.queueFlush(() => this.catchUp());
        connectedBefore = true;
        const reason = await lost;
        if (this.closed) break;
        logger.warn({ err: reason }, 'event stream lost its Postgres connection; reconnecting');
      } catch (error) {
        if (this.closed) break;
        logger.warn({ err: error, attempt: failures + 1 }, 'event stream cannot listen on Postgres; retrying');
      } finally {
        metrics.eventStreamListening.set(0);
        client.removeAllListeners('notification');
        await client.end().catch(() => {});
      }
      if (this.closed) break;
      metrics.eventStreamReconnects.inc();
      failures += 1;
      const delay = Math.min(BACKOFF_MS.cap, BACKOFF_MS.base * 2 ** Math.min(failures - 1, 10));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.random() * delay + delay / 2);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private notified(id: string): void {
    this.pendingIds.add(id);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const ids = [...this.pendingIds];
      this.pendingIds.clear();
      this.queueFlush(() => this.deliverIds(ids));
    }, this.options.batchMs ?? 100);
  }

  /** One load at a time, in notification order. */
  private queueFlush(work: () => Promise<void>): void {
    this.flushing = this.flushing
      .then(work)
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not load archived events for live streams'));
  }

  private async deliverIds(notifiedIds: string[]): Promise<void> {
    const ids = notifiedIds.filter((id) => !this.caughtUpIds.has(id));
    if (!this.subscribers.size || !ids.length) {
      this.lastSeenId = ids.at(-1) ?? this.lastSeenId;
      return;
    }
    const rows = await eventsByIdsQuery(this.options.db, ids).orderBy('e.received_at').orderBy('e.id').execute();
    await this.fanOut(rows);
  }

  private async catchUp(): Promise<void> {
    if (!this.lastSeenId) return;
    const rows = await eventsAfterQuery(this.options.db, {}, { sinceId: this.lastSeenId, limit: CATCH_UP_LIMIT }).execute();
    this.options.logger.info({ events: rows.length }, 'event stream caught up after reconnecting');
    this.caughtUpIds = new Set(rows.map((row) => row.id));
    await this.fanOut(rows);
  }

  private async fanOut(rows: EventRow[]): Promise<void> {
    if (!rows.length) return;
    this.lastSeenId = rows.at(-1)!.id;
    if (!this.subscribers.size) return;
    const summaries = await summarize(this.options.db, rows);
    summaries.forEach((summary, index) => {
      const row = rows[index]!;
      const matchable = {
        receivedAt: new Date(row.received_at),
        deviceId: row.device_id,
        eventType: row.event_type,
        eventFamily: row.event_family,
        employeeNo: row.employee_no,
        personName: row.person_name,
        licensePlate: row.license_plate,
        pictureCount: summary.pictures.length,
      };
      for (const subscriber of this.subscribers) {
        if (matchesFilter(matchable, subscriber.filter)) subscriber.deliver(summary);
      }
    });
  }
}
