import { sql } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../../libs/db/database.js';
import { withTimeout } from '../../libs/redis/connection.js';

export const DEVICE_ACTIVITIES = ['active', 'silent'] as const;

/** A device unseen this long is taken as gone (decommissioned, replaced) and no longer counted. */
export const FORGET_DEVICE_AFTER_SECONDS = 7 * 24 * 3600;

const READ_TIMEOUT_MS = 2_000;

/** Devices seen in the last 7 days: active when they posted within `silentAfterSeconds`, silent otherwise. */
export async function countDeviceActivity(db: Db, silentAfterSeconds: number): Promise<Record<(typeof DEVICE_ACTIVITIES)[number], number>> {
  const row = await db
    .selectFrom('devices')
    .select([
      sql<string>`count(*) filter (where last_seen_at >= now() - make_interval(secs => ${silentAfterSeconds}))`.as('active'),
      sql<string>`count(*) filter (where last_seen_at < now() - make_interval(secs => ${silentAfterSeconds}))`.as('silent'),
    ])
    .where('last_seen_at', '>=', sql<Date>`now() - make_interval(secs => ${FORGET_DEVICE_AFTER_SECONDS})`)
    .executeTakeFirstOrThrow();
  return { active: Number(row.active), silent: Number(row.silent) };
}

/**
 * Observed devices (the archive's `devices` table) by activity, counted with one query when
 * Prometheus scrapes. No device ids in labels: which devices are silent is a database question
 * (docs/operations.md#hikhubdevicessilent). Every replica reports the same numbers: take max().
 */
export function registerDeviceActivity(registry: Registry, db: Db, silentAfterSeconds: number): void {
  const gauge = new Gauge({
    name: 'hikhub_archiver_devices',
    help: 'Devices that posted to hikhub in the last 7 days, by activity: silent = nothing (event or heartbeat) for DEVICE_SILENT_AFTER_SECONDS (read from Postgres at scrape time)',
    labelNames: ['activity'] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await withTimeout(countDeviceActivity(db, silentAfterSeconds), READ_TIMEOUT_MS);
        for (const activity of DEVICE_ACTIVITIES) this.set({ activity }, counts[activity]);
      } catch {
        // Postgres unreachable: keep the last values; readiness reports the outage.
      }
    },
  });
  // Present from the first scrape, even when Postgres cannot be read yet.
  for (const activity of DEVICE_ACTIVITIES) gauge.set({ activity }, 0);
}
