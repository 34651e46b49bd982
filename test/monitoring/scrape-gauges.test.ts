import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createDb, ensureDatabaseExists } from '../../libs/db/database.js';
import { migrateToLatest } from '../../libs/db/migrator.js';
import { createLogger } from '../../libs/logger/logger.js';
import { parseRedisMemory, registerRedisMemory } from '../../libs/metrics/redis-memory.js';
import { createProducerConnection } from '../../libs/redis/connection.js';
import { countDeviceActivity, registerDeviceActivity } from '../../services/archiver/device-activity.js';
import { createTestWorld } from '../helpers/archiver.js';
import { freePort } from '../helpers/redis-server.js';

/**
 * The two gauges read at scrape time for the alerts, against the real Redis and Postgres: Redis
 * memory from INFO memory, and observed devices by activity from the archive's devices table
 * (silent after the threshold, forgotten after 7 days). A scrape never fails because either is down.
 */

/** The value of an unlabelled or labelled sample in a registry's exposition. */
async function sample(registry: Registry, name: string, labels = ''): Promise<number | undefined> {
  const text = await registry.metrics();
  const match = new RegExp(`^${name}${labels ? `\\{${labels.replace(/[{}"]/g, (c) => `\\${c}`)}\\}` : ''}\\s+(\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('gauges read at scrape time', async () => {
  const world = await createTestWorld('monitoring_gauges');

  beforeAll(async () => {
    await ensureDatabaseExists(world.databaseUrl);
    await migrateToLatest(world.db, createLogger('test', 'silent'));
  });

  afterAll(async () => {
    await world.teardown();
  });

  it('reads Redis memory and its limit from INFO memory', async () => {
    const registry = new Registry();
    registerRedisMemory(registry, world.redis);
    const [, maxmemory] = (await world.redis.config('GET', 'maxmemory')) as [string, string];
    expect(await sample(registry, 'hikhub_redis_memory_used_bytes')).toBeGreaterThan(0);
    expect(await sample(registry, 'hikhub_redis_memory_max_bytes')).toBe(Number(maxmemory));
  });

  it('parses INFO memory and refuses text without the fields', () => {
    expect(parseRedisMemory('# Memory\r\nused_memory:2179064\r\nused_memory_human:2.08M\r\nmaxmemory:1073741824\r\nmaxmemory_human:1.00G\r\n')).toEqual({ usedBytes: 2179064, maxBytes: 1073741824 });
    expect(() => parseRedisMemory('# Memory\r\nused_memory_human:2.08M\r\n')).toThrow(/used_memory/);
  });

  it('still answers the scrape when Redis is unreachable', async () => {
    const unreachable = createProducerConnection(`redis://127.0.0.1:${await freePort()}`, 'hikhub-test-unreachable');
    unreachable.on('error', () => {});
    try {
      const registry = new Registry();
      registerRedisMemory(registry, unreachable);
      // Both read 0 until INFO answers: HikhubRedisNoMemoryLimit requires used > 0 for that reason.
      expect(await sample(registry, 'hikhub_redis_memory_used_bytes')).toBe(0);
      expect(await sample(registry, 'hikhub_redis_memory_max_bytes')).toBe(0);
    } finally {
      unreachable.disconnect();
    }
  });

  it('counts devices active or silent by last_seen_at, and forgets those unseen for 7 days', async () => {
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
    const rows = [
      { key: 'mac:active-1', lastSeen: ago(5) },
      { key: 'mac:active-2', lastSeen: ago(59) },
      { key: 'mac:silent-1', lastSeen: ago(61) },
      { key: 'mac:silent-2', lastSeen: ago(6 * 24 * 3600) },
      { key: 'mac:decommissioned', lastSeen: ago(8 * 24 * 3600) },
    ];
    await world.db
      .insertInto('devices')
      .values(rows.map((row) => ({ device_key: row.key, first_seen_at: ago(30 * 24 * 3600), last_seen_at: row.lastSeen })))
      .execute();

    expect(await countDeviceActivity(world.db, 60)).toEqual({ active: 2, silent: 2 });
    expect(await countDeviceActivity(world.db, 3600)).toEqual({ active: 3, silent: 1 });

    const registry = new Registry();
    registerDeviceActivity(registry, world.db, 60);
    expect(await sample(registry, 'hikhub_archiver_devices', 'activity="active"')).toBe(2);
    expect(await sample(registry, 'hikhub_archiver_devices', 'activity="silent"')).toBe(2);
  });

  it('reports zero devices, not an error, when Postgres cannot be read', async () => {
    const registry = new Registry();
    const unreachable = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, 1);
    try {
      registerDeviceActivity(registry, unreachable, 60);
      expect(await sample(registry, 'hikhub_archiver_devices', 'activity="silent"')).toBe(0);
      expect(await sample(registry, 'hikhub_archiver_devices', 'activity="active"')).toBe(0);
    } finally {
      await unreachable.destroy();
    }
  });
});
