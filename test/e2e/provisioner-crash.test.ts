import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAsset } from '../../tools/simulator/assets.js';
import { startSimulatedTerminal, type SimulatedTerminal } from '../../tools/simulator/terminal.js';
import { createProvisioningWorld } from '../helpers/provisioning.js';
import { freePort } from '../helpers/redis-server.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A provisioner killed (SIGKILL) while its face upload hangs on the device: another provisioner
 * takes the stalled job over once the job lock and the device lock expire, and finishes it — the
 * person ends up on the terminal exactly once.
 */
describe('provisioner crash', () => {
  let world: Awaited<ReturnType<typeof createProvisioningWorld>>;
  let terminal: SimulatedTerminal;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    world = await createProvisioningWorld('provisioner_crash');
    terminal = await startSimulatedTerminal();
  });

  afterAll(async () => {
    for (const process of processes) await process.crash();
    await terminal?.close();
    await world?.teardown();
  });

  async function startProvisioner(): Promise<ServiceProcess> {
    const port = await freePort();
    const service = ServiceProcess.start('services/provisioner/main.ts', {
      ...world.env,
      PROVISIONER_METRICS_PORT: String(port),
      PROVISIONER_LOCK_DURATION_MS: '1500',
      PROVISIONER_STALLED_INTERVAL_MS: '500',
    });
    processes.push(service);
    await service.waitReady(`http://127.0.0.1:${port}/readyz`);
    return service;
  }

  it('finishes a job whose provisioner died mid-request', async () => {
    const device = await world.desired.createDevice({ name: 'crash', host: terminal.host, port: terminal.port, scheme: 'http', username: terminal.username, password: terminal.password });
    await world.desired.createPerson({ employeeNo: '8001', name: 'Crash Test', cards: ['8801'] });
    await world.desired.setFace('8001', loadAsset('face.jpg'));
    await world.desired.setDevicePeople(device.id, ['8001']);
    terminal.queueFault({ kind: 'hang', times: 1, match: { pathIncludes: 'FDLib/FDSetUp' } });

    const first = await startProvisioner();
    const { jobId } = await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '8001' });
    await waitFor(async () => terminal.requestLog.some((entry) => entry.path.includes('FDSetUp') && entry.fault === 'hang'), 20_000, 'face upload hanging');
    await first.crash();

    await startProvisioner();
    const job = await world.finished(jobId, 30_000);
    expect(await job.getState(), job.failedReason).toBe('completed');
    expect(terminal.users().map((user) => user.employeeNo)).toEqual(['8001']);
    expect(terminal.cards().map((card) => card.cardNo)).toEqual(['8801']);
    expect(terminal.faces().map((face) => face.FPID)).toEqual(['8001']);
    expect(await world.desired.assignment(device.id, '8001')).toMatchObject({ state: 'synced', faceSynced: true });
  });
});
