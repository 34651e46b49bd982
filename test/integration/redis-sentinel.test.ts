import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { startTestIngest } from '../helpers/ingest.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { PrivateSentinel } from '../helpers/redis-sentinel.js';
import { waitFor } from '../helpers/wait.js';

const VMD = (count: number) =>
  `<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><ipAddress>10.0.0.8</ipAddress><macAddress>AC:B9:2F:49:44:76</macAddress><channelID>${count}</channelID><dateTime>2025-04-06T14:16:04+02:00</dateTime><activePostCount>1</activePostCount><eventType>VMD</eventType><eventState>active</eventState></EventNotificationAlert>`;

/**
 * hikhub behind Sentinel (redis+sentinel://…/name): events go through, and keep going through
 * a failover to the replica. A device whose post is refused (503) during the switch resends,
 * as Hikvision devices do: the post helper does the same, a bounded number of times.
 */
describe('hikhub behind Redis Sentinel', () => {
  let sentinel: PrivateSentinel;
  let world: Awaited<ReturnType<typeof createTestWorld>>;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let archiver: Awaited<ReturnType<typeof startTestArchiver>>;

  beforeAll(async () => {
    sentinel = await PrivateSentinel.start();
    world = await createTestWorld('sentinel', sentinel.url);
    archiver = await startTestArchiver({ ...world.env, ARCHIVER_CONCURRENCY: '4' });
    ingest = await startTestIngest({ REDIS_URL: sentinel.url, QUEUE_PREFIX: world.prefix });
  }, 60_000);

  afterAll(async () => {
    try {
      await ingest?.stop();
      await archiver?.stop();
      await world?.teardown();
    } finally {
      await sentinel?.stop(); // whatever failed above, its processes are stopped
    }
  }, 60_000);

  /** Posts one event until it is acknowledged; returns how many 503s it took. */
  async function postUntilAcknowledged(count: number): Promise<number> {
    for (let refused = 0; refused < 100; refused += 1) {
      const response = await sendRaw(ingest.port, buildPost('/hikvision/events', VMD(count), { 'Content-Type': 'application/xml' }));
      if (response?.status === 200) return refused;
      expect(response?.status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`event ${count} was never acknowledged`);
  }

  const archivedCounts = async () =>
    (await world.db.selectFrom('events').select('channel_id').where('mac_address', '=', 'ac:b9:2f:49:44:76').execute()).map((row) => Number(row.channel_id)).sort((a, b) => a - b);

  it('archives events through the master the sentinel names, before and after a failover', async () => {
    const firstMaster = await sentinel.masterPort();
    expect(firstMaster).toBe(sentinel.master.port);
    for (let i = 1; i <= 10; i += 1) expect(await postUntilAcknowledged(i)).toBe(0);
    await waitFor(async () => (await archivedCounts()).length === 10, 20_000, 'the first 10 events');

    await sentinel.failover();
    expect(await sentinel.masterPort()).toBe(sentinel.replica.port);
    // The sentinel turns the old master into a replica (read-only): writes that succeed from here went to the new one.
    await waitFor(async () => (await sentinel.role(sentinel.master.port)) === 'slave', 20_000, 'the old master to become a replica');
    for (let i = 11; i <= 30; i += 1) await postUntilAcknowledged(i);

    const expected = Array.from({ length: 30 }, (_, i) => i + 1);
    await waitFor(async () => (await archivedCounts()).length === 30, 30_000, 'all 30 events after the failover');
    expect(await archivedCounts()).toEqual(expected);
    expect(await world.queue.getJobCounts('failed')).toEqual({ failed: 0 });
  }, 90_000);
});
