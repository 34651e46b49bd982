import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedTerminal, type SimulatedTerminal } from '../../tools/simulator/terminal.js';
import { createProvisioningWorld, startTestProvisioner } from '../helpers/provisioning.js';
import { waitFor } from '../helpers/wait.js';

/**
 * "One request in flight per device across all replicas, many devices in parallel": two
 * provisioners on the same queue, database and Redis prefix, against four simulated terminals
 * that count the authenticated ISAPI requests they have in flight.
 */

const DEVICES = 4;
const PEOPLE = 40;
const LATENCY_MS = 15;

type Provisioner = Awaited<ReturnType<typeof startTestProvisioner>>;

async function succeededUpserts(provisioner: Provisioner): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${provisioner.metricsPort}/metrics`)).text();
  const line = /^hikhub_provisioning_jobs_total\{operation="person\.upsert",outcome="succeeded"[^}]*\} (\d+)$/m.exec(text);
  if (!line) throw new Error('no hikhub_provisioning_jobs_total{operation="person.upsert",outcome="succeeded"} in /metrics');
  return Number(line[1]);
}

describe('provisioner replicas', () => {
  let world: Awaited<ReturnType<typeof createProvisioningWorld>>;
  const replicas: Provisioner[] = [];
  const terminals: SimulatedTerminal[] = [];

  beforeAll(async () => {
    world = await createProvisioningWorld('provisioner-replicas');
    // Same env, prefix and database: two replicas of one deployment (started one after the other so the migrations are already there).
    for (let i = 0; i < 2; i++) replicas.push(await startTestProvisioner({ ...world.env, PROVISIONER_CONCURRENCY: '16' }));
    for (let i = 0; i < DEVICES; i++) terminals.push(await startSimulatedTerminal({ latencyMs: LATENCY_MS }));
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await Promise.all(terminals.map((terminal) => terminal.close()));
    await world?.teardown();
  });

  it('keeps one request in flight per device across two replicas while devices work in parallel', async () => {
    const devices = [];
    for (const [i, terminal] of terminals.entries()) {
      devices.push(await world.desired.createDevice({ name: `door ${i}`, host: terminal.host, port: terminal.port, scheme: 'http', username: terminal.username, password: terminal.password }));
    }
    const people = Array.from({ length: PEOPLE }, (_, i) => `81${String(i).padStart(3, '0')}`);
    const cardOf = (employeeNo: string) => `9${employeeNo}`;
    for (const employeeNo of people) await world.desired.createPerson({ employeeNo, name: `Person ${employeeNo}`, cards: [cardOf(employeeNo)] });
    for (const device of devices) await world.desired.setDevicePeople(device.id, people);

    // Parallelism across devices: how many terminals had a request in flight at the same moment.
    let mostBusyAtOnce = 0;
    const sampler = setInterval(() => {
      mostBusyAtOnce = Math.max(mostBusyAtOnce, terminals.filter((terminal) => terminal.concurrentRequests > 0).length);
    }, 2);
    let ids: string[];
    try {
      ids = await world.jobs.enqueueMany('person.upsert', devices.flatMap((device) => people.map((employeeNo) => ({ deviceId: device.id, employeeNo }))));
      expect(new Set(ids).size).toBe(DEVICES * PEOPLE);
      await waitFor(async () => {
        const states = await Promise.all(ids.map(async (id) => (await world.queue.getJob(id))?.getState()));
        const failed = ids.filter((_, i) => states[i] === 'failed');
        if (failed.length > 0) {
          const job = await world.queue.getJob(failed[0]!);
          throw new Error(`${failed.length} job(s) failed, e.g. ${failed[0]}: ${job?.failedReason}`);
        }
        return states.every((state) => state === 'completed');
      }, 120_000, `all ${DEVICES * PEOPLE} jobs completed`);
    } finally {
      clearInterval(sampler);
    }

    for (const terminal of terminals) {
      expect(terminal.users().map((user) => user.employeeNo).sort()).toEqual(people);
      expect(terminal.cards().map((card) => `${card.employeeNo}:${card.cardNo}`).sort()).toEqual(people.map((employeeNo) => `${employeeNo}:${cardOf(employeeNo)}`));
      expect(terminal.authFailures).toBe(0);
    }
    // One authenticated request in flight per device, whichever replica sent it…
    expect(terminals.map((terminal) => terminal.maxConcurrentRequests)).toEqual(terminals.map(() => 1));
    expect(terminals.map((terminal) => terminal.concurrentRequests)).toEqual(terminals.map(() => 0));
    // …while different devices were served at the same time.
    expect(mostBusyAtOnce).toBeGreaterThanOrEqual(2);

    // Both replicas took part.
    const succeeded = await Promise.all(replicas.map((replica) => succeededUpserts(replica)));
    expect(succeeded[0]).toBeGreaterThan(0);
    expect(succeeded[1]).toBeGreaterThan(0);
    expect(succeeded[0]! + succeeded[1]!).toBeGreaterThanOrEqual(DEVICES * PEOPLE);
  });
});
