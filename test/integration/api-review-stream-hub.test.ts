import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, ensureDatabaseExists, type Db } from '../../libs/db/database.js';
import { migrateToLatest } from '../../libs/db/migrator.js';
import { createLogger } from '../../libs/logger/logger.js';
import { EventStreamHub } from '../../services/api/archive/event-stream.js';
import type { EventSummary } from '../../services/api/archive/event-summary.js';
import { createApiMetrics, type ApiMetrics } from '../../services/api/metrics.js';
import { PrivatePostgres } from '../helpers/postgres-server.js';
import { waitFor } from '../helpers/wait.js';

const insertEvent = (client: { query: (text: string, values: unknown[]) => Promise<unknown> }, id: string) =>
  client.query(
    `insert into events (id, received_at, event_type, event_state, event_family, remote_address, source_path, payload)
     values ($1, now(), 'IO', 'active', 'io', '10.0.0.1', '/io', '{}')`,
    [id],
  );

/**
 * The live stream's hub on a private Postgres that is stopped and started again: the LISTEN
 * connection comes back, events archived around the reconnect reach each subscriber exactly once,
 * and a hub that is closed ends whoever subscribes late (else shutdown waits on that stream).
 */
describe('admin API review: the live-stream hub across a Postgres restart', () => {
  let postgres: PrivatePostgres;
  let db: Db;
  let url: string;
  let metrics: ApiMetrics;
  let hub: EventStreamHub;
  const received: EventSummary[] = [];
  /** One event on a connection of its own (a pooled one would not survive the restart). */
  const insertOnce = async (id: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await insertEvent(client, id);
    } finally {
      await client.end();
    }
  };
  const listening = async () => (await metrics.eventStreamListening.get()).values[0]?.value === 1;

  beforeAll(async () => {
    postgres = await PrivatePostgres.start();
    url = postgres.urlFor('hikhub');
    await ensureDatabaseExists(url);
    db = createDb(url, 2);
    await migrateToLatest(db, createLogger('test', 'silent'));
    metrics = createApiMetrics(new Registry());
    hub = new EventStreamHub({ databaseUrl: url, db, logger: createLogger('test', 'silent'), metrics, batchMs: 20 });
    hub.start();
    hub.subscribe({ filter: {}, deliver: (summary) => received.push(summary), end: () => undefined });
    await waitFor(listening, 15_000, 'the hub to listen');
  }, 120_000);

  afterAll(async () => {
    await hub?.close();
    await db?.destroy();
    await postgres?.destroy();
  });

  it('delivers once before, and once per event after, Postgres restarts — even an event committed while it catches up', async () => {
    const first = randomUUID();
    await insertOnce(first);
    await waitFor(async () => received.some((event) => event.id === first), 15_000, 'the first event');

    await postgres.stop();
    await waitFor(async () => !(await listening()), 15_000, 'the hub to notice');
    await postgres.launch();

    // An event committed after the hub LISTENs again but before its catch-up query can read:
    // the catch-up (blocked by the lock) and the notification both see it.
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    const caughtUp = randomUUID();
    await writer.query('begin');
    await writer.query('lock table events in access exclusive mode');
    await insertEvent(writer, caughtUp);
    await waitFor(listening, 60_000, 'the hub to listen again');
    await waitFor(async () => {
      const { rows } = await writer.query<{ waiting: number }>(
        `select count(*)::int as waiting from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'events' and not l.granted`,
      );
      return rows[0]!.waiting > 0;
    }, 15_000, 'the catch-up query to wait for the lock');
    await writer.query('commit');
    await writer.end();

    const after = randomUUID();
    await insertOnce(after);
    await waitFor(async () => received.some((event) => event.id === after), 15_000, 'an event after the restart');
    const ids = received.map((event) => event.id);
    expect(ids.filter((id) => id === caughtUp)).toHaveLength(1);
    expect(ids.filter((id) => id === first)).toHaveLength(1);
    expect(ids.filter((id) => id === after)).toHaveLength(1);
    expect((await metrics.eventStreamReconnects.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('ends a subscriber that arrives after the hub closed', async () => {
    await hub.close();
    let ended = false;
    hub.subscribe({ filter: {}, deliver: () => undefined, end: () => (ended = true) });
    await waitFor(async () => ended, 5_000, 'the late subscriber to be ended');
    expect(hub.clientCount).toBe(0);
  });
});
