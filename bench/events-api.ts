import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { join } from 'node:path';
import { apiEnvSchema, loadEnv } from '../libs/config/env.js';
import { createDb, ensureDatabaseExists } from '../libs/db/database.js';
import { migrateToLatest } from '../libs/db/migrator.js';
import { createLogger } from '../libs/logger/logger.js';
import { eventPageQuery } from '../services/api/archive/event-query.js';
import { startApi } from '../services/api/api-service.js';
import { createTestDatabaseUrl } from '../test/helpers/database.js';
import { seedEvents } from '../test/helpers/events-seed.js';
import { prng } from '../test/helpers/prng.js';
import { progress, type Resources } from './support.js';

export interface LatencyRow {
  what: string;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** p50 over the baseline's p50 (GET /readyz: the API's own round trip, two trivial queries). */
  ratio: number;
}

export interface EventsApiResult {
  events: number;
  devices: number;
  days: number;
  seedSeconds: number;
  /** On-disk size of events and event_pictures with their indexes and TOAST (pg_total_relation_size). */
  archiveBytes: number;
  baseline: LatencyRow;
  rows: LatencyRow[];
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function timed(requests: number, run: (index: number) => Promise<void>): Promise<{ p50Ms: number; p99Ms: number }> {
  const samples: number[] = [];
  for (let index = 0; index < requests; index++) {
    const started = performance.now();
    await run(index);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

/**
 * GET /api/v1/events latency on a fresh database of `events` rows (generate_series, ~50 devices
 * over 30 days, analysed), the real API over HTTP on loopback, one request at a time. Device +
 * time windows (1 hour to 3 days) vary per request; the other filters are measured too. The
 * baseline is GET /readyz on the same API; "bare SQL" is the device query run directly.
 */
export async function benchEventsApi(options: { resources: Resources; events: number; requests: number }): Promise<EventsApiResult> {
  const { resources } = options;
  const database = await createTestDatabaseUrl('bench_events_api');
  resources.defer(`database ${database.name}`, () => database.drop());
  await ensureDatabaseExists(database.url);
  const db = createDb(database.url, 4);
  resources.defer('bench events db', () => db.destroy());
  await migrateToLatest(db, createLogger('bench', 'silent'));

  const days = 30;
  const until = new Date(Date.UTC(2026, 0, 31));
  progress(`events-api: inserting ${options.events.toLocaleString('en-US')} events`);
  const seedStarted = performance.now();
  const seeded = await seedEvents(db, { events: options.events, devices: 50, days, until });
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  progress(`events-api: seeded in ${seedSeconds.toFixed(1)} s; starting the API`);
  const size = await sql<{ bytes: string }>`select pg_total_relation_size('events') + pg_total_relation_size('event_pictures') as bytes`.execute(db);
  const archiveBytes = Number(size.rows[0]?.bytes ?? 0);

  const dataDir = await mkdtemp(join(tmpdir(), 'hikhub-bench-events-'));
  resources.defer(`data dir ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  const adminToken = 'bench-admin-token-0123456789abcdefghij';
  const env = loadEnv(apiEnvSchema, {
    DATABASE_URL: database.url, DATA_DIR: dataDir, API_HOST: '127.0.0.1', API_PORT: '0', API_METRICS_PORT: '0', ADMIN_TOKEN: adminToken,
    QUEUE_PREFIX: `bench-events-${process.pid}`, LOG_LEVEL: 'silent',
  });
  const api = await startApi(env, createLogger('api', 'silent'));
  resources.defer('bench api', () => api.stop());
  const base = `http://127.0.0.1:${api.port}`;
  const headers = { authorization: `Bearer ${adminToken}` };
  const get = async (path: string) => {
    const response = await fetch(`${base}${path}`, { headers });
    if (response.status !== 200) throw new Error(`GET ${path} → ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  };

  const random = prng(20260131);
  const windowHours = [1, 6, 24, 72];
  const spanMs = days * 86_400_000;
  const deviceWindow = () => {
    const deviceId = seeded.deviceIds[Math.floor(random() * seeded.deviceIds.length)]!;
    const hours = windowHours[Math.floor(random() * windowHours.length)]!;
    const to = new Date(until.getTime() - random() * (spanMs - hours * 3_600_000));
    return { deviceId, from: new Date(to.getTime() - hours * 3_600_000), to };
  };
  const query = (params: Record<string, string>) => `/api/v1/events?${new URLSearchParams(params).toString()}`;

  // Warm the connection pools and the cache the way a running API is warm.
  for (let i = 0; i < 50; i++) await get(query({ deviceId: deviceWindow().deviceId }));
  const n = options.requests;
  const baselineTimes = await timed(n, () => get('/readyz'));
  const baseline: LatencyRow = { what: 'GET /readyz (baseline)', requests: n, ...baselineTimes, ratio: 1 };
  const row = (what: string, requests: number, times: { p50Ms: number; p99Ms: number }): LatencyRow => ({ what, requests, ...times, ratio: times.p50Ms / baseline.p50Ms });

  const rows: LatencyRow[] = [];
  progress('events-api: device + time');
  rows.push(row('deviceId + from/to (1 h – 3 d windows), limit 50', n, await timed(n, async () => {
    const w = deviceWindow();
    await get(query({ deviceId: w.deviceId, from: w.from.toISOString(), to: w.to.toISOString() }));
  })));
  rows.push(row('  same, bare SQL (the route\'s query, no HTTP/JSON)', n, await timed(n, async () => {
    const w = deviceWindow();
    await eventPageQuery(db, { deviceId: w.deviceId, from: w.from, to: w.to }, { limit: 51 }).execute();
  })));
  rows.push(row('deviceId + from/to, pages 1–5 by cursor (time of all 5)', Math.ceil(n / 5), await timed(Math.ceil(n / 5), async () => {
    const w = deviceWindow();
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const response = await fetch(`${base}${query({ deviceId: w.deviceId, from: w.from.toISOString(), to: w.to.toISOString(), ...(cursor ? { cursor } : {}) })}`, { headers });
      cursor = ((await response.json()) as { nextCursor: string | null }).nextCursor;
      if (!cursor) break;
    }
  })));
  const others: [string, () => Record<string, string>][] = [
    ['no filter (newest 50)', () => ({})],
    ['from/to only (1 day)', () => { const w = deviceWindow(); return { from: new Date(w.to.getTime() - 86_400_000).toISOString(), to: w.to.toISOString() }; }],
    ['eventType=ANPR', () => ({ eventType: 'ANPR' })],
    ['employeeNo', () => ({ employeeNo: String(Math.floor(random() * 5000)) })],
    ['name substring (trigram)', () => ({ name: `son ${1000 + Math.floor(random() * 4000)}` })],
    ['plate', () => ({ plate: `p${String(Math.floor(random() * 20000)).padStart(6, '0')}` })],
    ['hasPicture=true + deviceId', () => ({ hasPicture: 'true', deviceId: deviceWindow().deviceId })],
  ];
  for (const [what, params] of others) {
    progress(`events-api: ${what}`);
    const requests = Math.ceil(n / 2);
    rows.push(row(what, requests, await timed(requests, () => get(query(params())))));
  }
  return { events: options.events, devices: seeded.deviceIds.length, days, seedSeconds, archiveBytes, baseline, rows };
}
