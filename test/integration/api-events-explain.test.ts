import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, ensureDatabaseExists, type Db } from '../../libs/db/database.js';
import { migrateToLatest } from '../../libs/db/migrator.js';
import { createLogger } from '../../libs/logger/logger.js';
import type { EventFilter } from '../../services/api/archive/event-filter.js';
import { eventPageQuery } from '../../services/api/archive/event-query.js';
import { createTestDatabaseUrl } from '../helpers/database.js';
import { seedEvents } from '../helpers/events-seed.js';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

/**
 * The events list's main queries use the indexes of migration 0005 on a table big enough for the
 * planner to care (200,000 events, analysed): EXPLAIN of the very SQL the route runs (built by
 * services/api/archive/event-query.ts), never a sequential scan of events.
 */
describe('events list query plans', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let seeded: Awaited<ReturnType<typeof seedEvents>>;

  beforeAll(async () => {
    const database = await createTestDatabaseUrl('api-events-explain');
    drop = database.drop;
    await ensureDatabaseExists(database.url);
    db = createDb(database.url, 2);
    await migrateToLatest(db, createLogger('test', 'silent'));
    seeded = await seedEvents(db, { events: 200_000, devices: 50, days: 30, until: new Date('2026-01-31T00:00:00Z') });
  }, 180_000);

  afterAll(async () => {
    await db?.destroy();
    await drop?.();
  });

  async function plan(filter: EventFilter, cursorPage = false): Promise<PlanNode[]> {
    let after;
    if (cursorPage) {
      const first = await eventPageQuery(db, filter, { limit: 51 }).execute();
      after = { receivedAtKey: first.at(-1)!.received_at_key, id: first.at(-1)!.id };
    }
    const compiled = eventPageQuery(db, filter, { limit: 51, after }).compile();
    const result = await db.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(CompiledQuery.raw(`explain (format json) ${compiled.sql}`, [...compiled.parameters]));
    return flatten(result.rows[0]!['QUERY PLAN'][0].Plan);
  }

  const day = (n: number) => new Date(Date.UTC(2026, 0, n));
  // A type or family that is a sixth of all events is found fastest by walking the time index
  // and filtering (51 matches within ~300 entries); the planner may take either keyset index then.
  // Either way the page is read in order and stops at the limit: no Sort over events.
  const cases: [string, EventFilter, string[], { sorted: boolean }][] = [
    ['time only', { from: day(10), to: day(12) }, ['events_received_at_id_idx'], { sorted: false }],
    ['device and time', { deviceId: '', from: day(10), to: day(17) }, ['events_device_received_at_id_idx'], { sorted: false }],
    ['event type', { eventType: 'ANPR' }, ['events_event_type_received_at_id_idx', 'events_received_at_id_idx'], { sorted: false }],
    ['family', { family: 'access_control', from: day(3), to: day(5) }, ['events_family_received_at_id_idx', 'events_received_at_id_idx'], { sorted: false }],
    // A handful of matches: the planner may fetch them through a bitmap of the index and sort
    // those few (trigram matches always come that way) — still no read beyond the matches.
    ['employee no', { employeeNo: '4321' }, ['events_employee_no_received_at_id_idx'], { sorted: true }],
    ['name substring', { name: 'son 4321' }, ['events_person_name_trgm_idx'], { sorted: true }],
    ['plate', { plate: 'p004321' }, ['events_plate_received_at_id_idx'], { sorted: true }],
  ];

  for (const [label, filter, indexes, { sorted }] of cases) {
    it(`${label}: uses ${indexes.join(' or ')}, never a sequential scan of events (first page and a cursor page)`, async () => {
      const withDevice = filter.deviceId === '' ? { ...filter, deviceId: seeded.deviceIds[7]! } : filter;
      for (const cursorPage of [false, true]) {
        const nodes = await plan(withDevice, cursorPage);
        const used = nodes.map((node) => node['Index Name']).filter(Boolean);
        expect([label, cursorPage, used.some((name) => indexes.includes(name!))]).toEqual([label, cursorPage, true]);
        expect(nodes.filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'events')).toEqual([]);
        if (!sorted) expect([label, cursorPage, nodes.map((node) => node['Node Type'])]).not.toEqual([label, cursorPage, expect.arrayContaining(['Sort'])]);
      }
    });
  }
});
