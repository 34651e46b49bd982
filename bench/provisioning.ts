import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadEnv, provisionerEnvSchema } from '../libs/config/env.js';
import { SecretBox } from '../libs/crypto/secret-box.js';
import { createDb, ensureDatabaseExists } from '../libs/db/database.js';
import { migrateToLatest } from '../libs/db/migrator.js';
import { IsapiClient, searchCards, upsertCard, upsertUser } from '../libs/isapi/index.js';
import { PROVISIONING_QUEUE } from '../libs/jobs/provisioning.js';
import { createLogger } from '../libs/logger/logger.js';
import { DesiredState } from '../libs/provisioning/desired-state.js';
import { ProvisioningJobs } from '../libs/provisioning/provisioning-jobs.js';
import { startProvisioner } from '../services/provisioner/provisioner-service.js';
import { createTestDatabaseUrl } from '../test/helpers/database.js';
import { createTestPrefix, TEST_REDIS_URL } from '../test/helpers/redis.js';
import { startSimulatedTerminal, type SimulatedTerminal } from '../tools/simulator/terminal.js';
import { progress, type Resources } from './support.js';

export interface ProvisioningBenchResult {
  people: number;
  devices: number;
  latencyMs: number;
  /** ISAPI requests per device that carry work (Digest 401 handshakes excluded). */
  callsPerDevice: number;
  floorSeconds: number;
  provisionerSeconds: number;
  enqueueSeconds: number;
  /** (provisioner − floor) per ISAPI call on one device: what hikhub adds around each call. */
  overheadPerCallMs: number;
}

const KEY = Buffer.alloc(32, 3).toString('base64');

async function startTerminals(count: number, latencyMs: number, resources: Resources): Promise<SimulatedTerminal[]> {
  const terminals: SimulatedTerminal[] = [];
  for (let i = 0; i < count; i++) {
    const terminal = await startSimulatedTerminal({ latencyMs, capacity: { users: 100_000, cards: 100_000 } });
    resources.defer(`terminal ${i}`, () => terminal.close());
    terminals.push(terminal);
  }
  return terminals;
}

const workCalls = (terminal: SimulatedTerminal): number => terminal.requestLog.filter((entry) => entry.httpStatus !== 401).length;

/**
 * Time to put `people` people (one card each) onto `devices` simulated terminals that answer
 * after `latencyMs`, through the whole provisioner (queue, desired state in Postgres, per-device
 * lock, metrics) — against a floor measured in the same run: the same ISAPI calls made directly
 * with IsapiClient, one device per loop, all devices in parallel. Faces are left out so 10 000
 * JPEGs do not fill the simulators' memory.
 */
export async function benchProvisioning(options: { people: number; devices: number; latencyMs: number; resources: Resources }): Promise<ProvisioningBenchResult> {
  const { people, devices, latencyMs, resources } = options;
  const employeeNos = Array.from({ length: people }, (_, i) => String(100_000 + i));

  progress(`provisioning floor: ${people} people × ${devices} devices, ${latencyMs} ms device latency, direct ISAPI calls`);
  const floorTerminals = await startTerminals(devices, latencyMs, resources);
  const floorStart = performance.now();
  await Promise.all(
    floorTerminals.map(async (terminal) => {
      const client = new IsapiClient({ host: terminal.host, port: terminal.port, scheme: 'http', username: terminal.username, password: terminal.password });
      try {
        for (const employeeNo of employeeNos) {
          await upsertUser(client, { employeeNo, name: `Bench ${employeeNo}` });
          await searchCards(client, employeeNo);
          await upsertCard(client, { employeeNo, cardNo: `9${employeeNo}` });
        }
      } finally {
        await client.close();
      }
    }),
  );
  const floorSeconds = (performance.now() - floorStart) / 1000;
  const floorCalls = workCalls(floorTerminals[0]!);

  progress('provisioning through hikhub: desired state, queue, provisioner');
  const database = await createTestDatabaseUrl('bench_provisioning');
  resources.defer('bench database', () => database.drop());
  const keys = createTestPrefix('bench_provisioning');
  resources.defer('bench redis keys', () => keys.cleanup());
  const dataDir = await mkdtemp(join(os.tmpdir(), 'hikhub-bench-prov-'));
  resources.defer('bench data dir', () => rm(dataDir, { recursive: true, force: true }));
  await ensureDatabaseExists(database.url);
  const db = createDb(database.url, 4);
  resources.defer('bench db pool', () => db.destroy());
  await migrateToLatest(db, createLogger('bench', 'silent'));
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  resources.defer('bench redis', () => redis.quit());
  const queue = new Queue(PROVISIONING_QUEUE, { connection: redis, prefix: keys.prefix });
  resources.defer('bench queue', () => queue.close());
  const desired = new DesiredState(db, SecretBox.fromText(KEY));
  const jobs = new ProvisioningJobs(queue, { attempts: 20, redis, prefix: keys.prefix });

  const terminals = await startTerminals(devices, latencyMs, resources);
  const deviceIds: string[] = [];
  for (const [index, terminal] of terminals.entries()) {
    deviceIds.push((await desired.createDevice({ name: `bench ${index}`, host: terminal.host, port: terminal.port, scheme: 'http', username: terminal.username, password: terminal.password })).id);
  }
  for (let i = 0; i < people; i += 500) {
    await db.insertInto('people').values(employeeNos.slice(i, i + 500).map((no) => ({ employee_no: no, name: `Bench ${no}`, valid_from: null, valid_to: null, face_sha256: null, face_updated_at: null }))).execute();
    await db.insertInto('cards').values(employeeNos.slice(i, i + 500).map((no) => ({ card_no: `9${no}`, employee_no: no }))).execute();
  }
  for (const deviceId of deviceIds) await desired.setDevicePeople(deviceId, employeeNos);

  const env = loadEnv(provisionerEnvSchema, {
    DATABASE_URL: database.url,
    QUEUE_PREFIX: keys.prefix,
    DATA_DIR: dataDir,
    CREDENTIALS_KEY: KEY,
    REDIS_URL: TEST_REDIS_URL,
    RECONCILE_INTERVAL_MS: '0',
    PROVISIONER_METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const provisioner = await startProvisioner(env, createLogger('provisioner', 'silent'));
  resources.defer('bench provisioner', () => provisioner.stop());

  const start = performance.now();
  // Interleaved by person, as PUT /devices/{id}/people for each device in turn would not be: the
  // worst case for per-device fairness is one device's jobs all first, so enqueue device by device.
  for (const deviceId of deviceIds) await jobs.enqueueMany('person.upsert', employeeNos.map((employeeNo) => ({ deviceId, employeeNo })));
  const enqueueSeconds = (performance.now() - start) / 1000;
  const total = people * devices;
  for (let last = -1; ; ) {
    const counts = await queue.getJobCounts('completed', 'failed');
    const done = (counts.completed ?? 0) + (counts.failed ?? 0);
    if (done >= total) {
      if (counts.failed) throw new Error(`${counts.failed} provisioning jobs failed`);
      break;
    }
    if (done !== last && done % 1000 < 100) progress(`  ${done}/${total} jobs done`);
    last = done;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const provisionerSeconds = (performance.now() - start) / 1000;
  const callsPerDevice = workCalls(terminals[0]!);
  if (terminals.some((terminal) => terminal.users().length !== people)) throw new Error('a terminal is missing people');
  return {
    people,
    devices,
    latencyMs,
    callsPerDevice,
    floorSeconds,
    provisionerSeconds,
    enqueueSeconds,
    overheadPerCallMs: ((provisionerSeconds - floorSeconds) * 1000) / Math.max(callsPerDevice, floorCalls),
  };
}
