import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { createPathToken } from '../../libs/edge-auth/path-token.js';
import { RedisRateLimiter } from '../../libs/edge-auth/rate-limiter.js';
import { writeBody } from '../../libs/jobs/body-store.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { runJobsCommand } from '../../libs/jobs/jobs-cli.js';
import { createQueue } from '../../libs/jobs/queues.js';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import { createLogger } from '../../libs/logger/logger.js';
import { createRedisConnection, primaryNodes } from '../../libs/redis/connection.js';
import { keyLayout } from '../../libs/redis/key-layout.js';
import { deleteKeysWithPrefix, scanKeys } from '../../libs/redis/keys.js';
import { createOrphanBodySweeper } from '../../services/archiver/orphan-bodies.js';
import { AuthFailureBudget } from '../../services/provisioner/auth-failure-budget.js';
import { DeviceCircuit } from '../../services/provisioner/device-circuit.js';
import { DeviceLocks } from '../../services/provisioner/device-lock.js';
import { createReconcileSchedule } from '../../services/provisioner/reconcile-schedule.js';
import { startSimulatedTerminal } from '../../tools/simulator/terminal.js';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { startTestIngest } from '../helpers/ingest.js';
import { createProvisioningWorld, startTestProvisioner } from '../helpers/provisioning.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { PrivateRedisCluster } from '../helpers/redis-cluster.js';
import { waitFor } from '../helpers/wait.js';

const VMD = (mac: string, count: number) =>
  `<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><ipAddress>10.0.0.7</ipAddress><macAddress>${mac}</macAddress><channelID>${count}</channelID><dateTime>2025-04-06T14:16:04+02:00</dateTime><activePostCount>1</activePostCount><eventType>VMD</eventType><eventState>active</eventState></EventNotificationAlert>`;

/**
 * hikhub on a private 3-master Redis Cluster (redis+cluster:// with a hash-tagged QUEUE_PREFIX):
 * the whole event path, the provisioner's Redis state, and everything that walks keys with SCAN.
 */
describe('hikhub on a 3-master Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let redis: Cluster;

  beforeAll(async () => {
    cluster = await PrivateRedisCluster.start(3);
    redis = createRedisConnection(cluster.url, 'worker', 'hikhub-test-cluster') as Cluster;
    await waitFor(async () => redis.status === 'ready', 10_000, 'cluster client');
  }, 60_000);

  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  }, 30_000);

  /** A hash-tagged prefix whose slot lives on master `index` (by port order), so each master gets used. */
  function prefixOnMaster(index: number, label: string): Promise<string> {
    const port = [...cluster.nodes].sort((a, b) => a.port - b.port)[index]!.port;
    return cluster.prefixOnMaster(port, `hikhub-${label}`);
  }

  it('ingest writes events and the archiver archives them, end to end', async () => {
    const world = await createTestWorld('cluster_e2e', cluster.url);
    const stops: (() => Promise<unknown>)[] = [() => world.teardown()];
    try {
      const archiver = await startTestArchiver({ ...world.env, ARCHIVER_CONCURRENCY: '4' });
      stops.unshift(() => archiver.stop());
      const ingest = await startTestIngest({ REDIS_URL: cluster.url, QUEUE_PREFIX: world.prefix });
      stops.unshift(() => ingest.stop());
      expect(world.prefix).toMatch(/^\{.*\}$/);
      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => sendRaw(ingest.port, buildPost('/hikvision/events', VMD('AC:B9:2F:49:44:75', i + 1), { 'Content-Type': 'application/xml' }))),
      );
      expect(statuses.map((response) => response?.status)).toEqual(Array(20).fill(200));
      const rows = await waitFor(async () => {
        const found = await world.db.selectFrom('events').select(['id', 'channel_id']).where('mac_address', '=', 'ac:b9:2f:49:44:75').execute();
        return found.length === 20 ? found : undefined;
      }, 30_000, '20 archived events');
      expect(rows.map((row) => Number(row.channel_id)).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      // Bodies are removed once archived: none left on any master.
      await waitFor(async () => {
        for await (const keys of scanKeys(redis, `${keyLayout(world.prefix).bodyPrefix}*`)) if (keys.length) return false;
        return true;
      }, 10_000, 'bodies to be removed');
      // Concurrent posts share batch jobs (event.archive-batch): 20 events in at most 20 jobs, none failed.
      const { completed } = await world.queue.getJobCounts('completed');
      expect(completed).toBeGreaterThan(0);
      expect(completed).toBeLessThanOrEqual(20);
      expect(await world.queue.getJobCounts('failed')).toEqual({ failed: 0 });
      // The operator CLI and the metrics read the same queue through the cluster.
      const lines: string[] = [];
      expect(await runJobsCommand(['counts'], { REDIS_URL: cluster.url, QUEUE_PREFIX: world.prefix }, (line) => lines.push(line))).toBe(0);
      expect(lines[0]).toMatch(new RegExp(`^events: .*completed=${completed} failed=0`));
      const metrics = await (await fetch(`http://127.0.0.1:${archiver.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/hikhub_queue_jobs\{queue="events",state="waiting",service="archiver"\} 0/);
      const ingestMetrics = await (await fetch(`http://127.0.0.1:${ingest.metricsPort}/metrics`)).text();
      expect(ingestMetrics).toMatch(/hikhub_queue_workers\{queue="events",service="ingest"\} 1/);
      expect(Number(/^hikhub_redis_memory_used_bytes\S* (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    } finally {
      for (const stop of stops) await stop(); // also what started before a failed start
    }
  }, 90_000);

  it('the provisioner runs a job on a terminal; its locks, budget, circuit and per-device index work', async () => {
    const world = await createProvisioningWorld('cluster_prov', cluster.url);
    const stops: (() => Promise<unknown>)[] = [() => world.teardown()];
    try {
      const provisioner = await startTestProvisioner({ ...world.env, PROVISIONER_CONCURRENCY: '4' });
      stops.unshift(() => provisioner.stop());
      const terminal = await startSimulatedTerminal();
      stops.unshift(() => terminal.close());
      const device = await world.desired.createDevice({ name: 'door', host: terminal.host, port: terminal.port, scheme: 'http', username: terminal.username, password: terminal.password });
      await world.desired.createPerson({ employeeNo: '1001', name: 'Person 1001', cards: ['77'] });
      await world.desired.setDevicePeople(device.id, ['1001']);
      const { jobId } = await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '1001' });
      const job = await world.finished(jobId);
      expect(await job.getState(), job.failedReason).toBe('completed');
      expect(terminal.users().map((user) => user.employeeNo)).toEqual(['1001']);
      // The per-device index and its counts (one pipeline over index and queue keys: one slot).
      expect((await world.jobs.countsByDevice([device.id])).get(device.id)).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
      expect(await world.redis.zscore(keyLayout(world.prefix).provisioningDeviceJobs('provisioning', device.id), jobId)).not.toBeNull();

      // The per-device reconcile schedulers (BullMQ job schedulers) on the cluster.
      await createReconcileSchedule({ queue: world.queue, desired: world.desired, intervalMs: 3_600_000, attempts: 3 }).sync();
      expect((await world.queue.getJobSchedulers()).map((scheduler) => scheduler.key)).toEqual([`reconcile__${device.id}`]);
      await createReconcileSchedule({ queue: world.queue, desired: world.desired, intervalMs: 0, attempts: 3 }).sync();
      expect(await world.queue.getJobSchedulers()).toEqual([]);

      const locks = new DeviceLocks(world.redis, world.prefix, { ttlMs: 5_000, maxWaitMs: 200 });
      expect(await locks.withDevice('d1', async () => world.redis.exists(keyLayout(world.prefix).deviceLock('d1')))).toBe(1);
      expect(await world.redis.exists(keyLayout(world.prefix).deviceLock('d1'))).toBe(0);

      const budget = new AuthFailureBudget(world.redis, world.prefix);
      await budget.record('d1');
      await budget.record('d1');
      expect(await budget.failuresInWindow('d1')).toBe(2);
      expect(await budget.blockedUntil('d1')).not.toBeNull();

      const circuit = new DeviceCircuit(world.redis, world.prefix);
      await circuit.trip('d1');
      expect(await circuit.openUntil('d1')).not.toBeNull();
      await circuit.reset('d1'); // DEL of two keys: CROSSSLOT unless both share the prefix's slot
      expect(await circuit.openUntil('d1')).toBeNull();
    } finally {
      for (const stop of stops) await stop();
    }
  }, 90_000);

  it('the edge keys: credentials and a rate limit over two keys in one script', async () => {
    const prefix = await prefixOnMaster(1, 'edge');
    try {
      const store = new EdgeCredentialStore(redis, prefix, { cacheMs: 0 });
      const token = createPathToken();
      await store.setPathToken(token, 'device-1');
      expect(await store.resolvePathToken(token)).toBe('device-1');
      await store.setDigestCredential('door-1', 'secret-password', 'device-1');
      expect(await store.resolveDigestHa1('door-1')).toMatchObject({ deviceId: 'device-1' });
      const limiter = new RedisRateLimiter(redis);
      const keys = keyLayout(prefix);
      const limits = [
        { key: keys.edgeRateByAddress('10.0.0.7'), ratePerSecond: 1, burst: 1 },
        { key: keys.edgeRateByDevice('device-1'), ratePerSecond: 1, burst: 1 },
      ];
      expect(await limiter.take(limits)).toEqual({ allowed: true });
      expect(await limiter.take(limits)).toMatchObject({ allowed: false });
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
    }
  });

  it('the orphan sweep and prefix deletion find keys on every master', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hikhub-cluster-orphans-'));
    const prefixes = await Promise.all([0, 1, 2].map((index) => prefixOnMaster(index, 'orphans')));
    try {
      const body = Buffer.alloc(20_000, 3);
      const orphans: string[] = [];
      for (const prefix of prefixes) {
        const id = uuidV7(Date.now() - 2 * 3600_000);
        orphans.push(id);
        await writeBody(redis, keyLayout(prefix).body(id), body);
      }
      // Each master holds one of them.
      const perNode = await Promise.all(primaryNodes(redis).map((node) => node.dbsize()));
      expect(perNode.filter((count) => count > 0)).toHaveLength(3);

      for (const [index, prefix] of prefixes.entries()) {
        const queue = createQueue(EVENTS_QUEUE, redis, prefix);
        const counter = new Counter({ name: `orphans_${index}_total`, help: 'x', registers: [new Registry()] });
        const sweeper = createOrphanBodySweeper({ redis, queue, prefix, dataDir, minAgeMs: 3600_000, counter, logger: createLogger('test', 'silent') });
        expect(await sweeper.sweep()).toBe(1);
        await queue.close();
        expect((await readFile(join(dataDir, 'quarantine', 'orphans', `${orphans[index]}.bin`))).equals(body)).toBe(true);
      }

      // Keys of one (untagged) prefix spread over every slot; deletion finds them all, one UNLINK per key.
      for (let i = 0; i < 60; i += 1) await redis.set(`hikhub-spread:${i}`, 'x');
      const spread = await Promise.all(primaryNodes(redis).map((node) => node.keys('hikhub-spread:*')));
      expect(spread.filter((keys) => keys.length > 0)).toHaveLength(3);
      await deleteKeysWithPrefix(redis, 'hikhub-spread');
      let left = 0;
      for await (const keys of scanKeys(redis, 'hikhub-spread:*')) left += keys.length;
      expect(left).toBe(0);
    } finally {
      for (const prefix of prefixes) await deleteKeysWithPrefix(redis, prefix);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * A master dies (kill -9) and the cluster promotes its replica: hikhub follows. Devices whose post
 * is refused (503) during the switch resend, as Hikvision devices do; the helper does the same, a
 * bounded number of times. Asynchronous replication may lose writes acknowledged in the moment
 * before the kill (docs/operations.md), so only events posted after the failover are counted.
 */
describe('hikhub on a Redis Cluster through a master failover', () => {
  let cluster: PrivateRedisCluster;

  beforeAll(async () => {
    cluster = await PrivateRedisCluster.start(3, { replicasPerMaster: 1 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it('archives events posted after the master of its prefix was killed and its replica took over', async () => {
    const world = await createTestWorld('cluster_failover', cluster.url);
    const stops: (() => Promise<unknown>)[] = [() => world.teardown()];
    try {
      const archiver = await startTestArchiver({ ...world.env, ARCHIVER_CONCURRENCY: '4' });
      stops.unshift(() => archiver.stop());
      const ingest = await startTestIngest({ REDIS_URL: cluster.url, QUEUE_PREFIX: world.prefix });
      stops.unshift(() => ingest.stop());
      const post = async (channel: number): Promise<void> => {
        for (let attempt = 0; attempt < 150; attempt += 1) {
          const response = await sendRaw(ingest.port, buildPost('/hikvision/events', VMD('AC:B9:2F:49:44:77', channel), { 'Content-Type': 'application/xml' }));
          if (response?.status === 200) return;
          expect(response?.status).toBe(503);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`event ${channel} was never acknowledged`);
      };
      const archived = async () =>
        (await world.db.selectFrom('events').select('channel_id').where('mac_address', '=', 'ac:b9:2f:49:44:77').execute()).map((row) => Number(row.channel_id));

      for (let channel = 1; channel <= 5; channel += 1) await post(channel);
      await waitFor(async () => (await archived()).length === 5, 20_000, 'the first events');

      const master = await cluster.masterOf(world.prefix);
      await cluster.kill(master);
      await waitFor(async () => (await cluster.masterOf(world.prefix).catch(() => master)) !== master, 30_000, 'the replica to take over');
      await cluster.waitUntilHealthy();

      for (let channel = 101; channel <= 110; channel += 1) await post(channel);
      const after = Array.from({ length: 10 }, (_, i) => 101 + i);
      await waitFor(async () => {
        const now = new Set(await archived());
        return after.every((channel) => now.has(channel));
      }, 30_000, 'events posted after the failover');
      expect(await world.queue.getJobCounts('failed')).toEqual({ failed: 0 });
    } finally {
      for (const stop of stops) await stop(); // also what started before a failed start
    }
  }, 120_000);
});
