import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadAsset } from '../../tools/simulator/assets.js';
import { startSimulatedTerminal, type SimulatedTerminal } from '../../tools/simulator/terminal.js';
import { createProvisioningWorld, startTestProvisioner } from '../helpers/provisioning.js';
import { freePort } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The provisioner against simulated face terminals over real HTTP (Digest and all), with the
 * real Redis queue and Postgres desired state — the way the admin API drives it.
 */
describe('provisioner', () => {
  let world: Awaited<ReturnType<typeof createProvisioningWorld>>;
  let provisioner: Awaited<ReturnType<typeof startTestProvisioner>>;
  const terminals: SimulatedTerminal[] = [];

  beforeAll(async () => {
    world = await createProvisioningWorld('provisioner');
    provisioner = await startTestProvisioner({ ...world.env, PROVISIONER_CONCURRENCY: '16' });
  });

  afterEach(async () => {
    await Promise.all(terminals.splice(0).map((terminal) => terminal.close()));
  });

  afterAll(async () => {
    await provisioner?.stop();
    await world?.teardown();
  });

  async function terminalDevice(name: string, options: Parameters<typeof startSimulatedTerminal>[0] = {}, password?: string, pruneUnknownUsers?: boolean) {
    const terminal = await startSimulatedTerminal(options);
    terminals.push(terminal);
    const device = await world.desired.createDevice({ name, host: terminal.host, port: terminal.port, scheme: 'http', username: terminal.username, password: password ?? terminal.password, pruneUnknownUsers });
    return { terminal, device };
  }

  async function person(employeeNo: string, options: { cards?: string[]; face?: boolean } = {}) {
    await world.desired.createPerson({ employeeNo, name: `Person ${employeeNo}`, cards: options.cards ?? [] });
    if (options.face) await world.desired.setFace(employeeNo, loadAsset('face.jpg'));
  }

  it('puts a person with cards and a face on a terminal, and reads the device identity', async () => {
    const { terminal, device } = await terminalDevice('front door');
    await person('1001', { cards: ['0004211', '77'], face: true });
    await world.desired.setDevicePeople(device.id, ['1001']);
    const { jobId } = await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '1001' });
    const job = await world.finished(jobId);
    expect(await job.getState(), job.failedReason).toBe('completed');
    expect(job.returnvalue).toMatchObject({ user: 'record', cards: { added: 2, removed: 0 }, face: 'uploaded' });

    expect(terminal.users().map((u) => u.employeeNo)).toEqual(['1001']);
    expect(terminal.cards().map((c) => c.cardNo).sort()).toEqual(['0004211', '77']);
    expect(terminal.faces().map((f) => f.FPID)).toEqual(['1001']);
    expect(terminal.faces()[0]!.bytes.equals(loadAsset('face.jpg'))).toBe(true);
    const stored = await world.desired.getDevice(device.id);
    expect(stored).toMatchObject({ status: 'online', serialNumber: terminal.identity.serialNumber, model: terminal.identity.model });
    expect(await world.desired.assignment(device.id, '1001')).toMatchObject({ state: 'synced', faceSynced: true });
    expect(terminal.authFailures).toBe(0);
  });

  it('grants every door of a door controller', async () => {
    const terminal = await startSimulatedTerminal();
    terminals.push(terminal);
    const device = await world.desired.createDevice({ name: 'controller', host: terminal.host, port: terminal.port, scheme: 'http', username: terminal.username, password: terminal.password, doors: [1, 2, 4] });
    await person('1101');
    await world.desired.setDevicePeople(device.id, ['1101']);
    const job = await world.finished((await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '1101' })).jobId);
    expect(await job.getState(), job.failedReason).toBe('completed');
    expect(terminal.users()[0]).toMatchObject({ doorRight: '1,2,4', RightPlan: [{ doorNo: 1 }, { doorNo: 2 }, { doorNo: 4 }] });
  });

  it('removes a card, the face and then the person when the desired state says so', async () => {
    const { terminal, device } = await terminalDevice('side door');
    await person('2001', { cards: ['5001', '5002'], face: true });
    await world.desired.setDevicePeople(device.id, ['2001']);
    await world.finished((await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '2001' })).jobId);

    await world.desired.updatePerson('2001', { cards: ['5002'] });
    expect(await (await world.finished((await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '2001' })).jobId)).getState()).toBe('completed');
    expect(terminal.cards().map((c) => c.cardNo)).toEqual(['5002']);

    await world.desired.removeFace('2001');
    expect(await (await world.finished((await world.jobs.enqueue('face.delete', { deviceId: device.id, employeeNo: '2001' })).jobId)).getState()).toBe('completed');
    expect(terminal.faces()).toEqual([]);

    await world.desired.setDevicePeople(device.id, []);
    expect(await (await world.finished((await world.jobs.enqueue('person.delete', { deviceId: device.id, employeeNo: '2001' })).jobId)).getState()).toBe('completed');
    expect(terminal.users()).toEqual([]);
    expect(terminal.cards()).toEqual([]);
  });

  it('moves a card to its new owner even when the old owner still holds it on the device', async () => {
    const { terminal, device } = await terminalDevice('card move');
    await person('2101', { cards: ['6100'] });
    await person('2102');
    await world.desired.setDevicePeople(device.id, ['2101', '2102']);
    for (const id of await world.jobs.enqueueMany('person.upsert', [{ deviceId: device.id, employeeNo: '2101' }, { deviceId: device.id, employeeNo: '2102' }])) await world.finished(id);
    expect(terminal.cards()).toEqual([expect.objectContaining({ cardNo: '6100', employeeNo: '2101' })]);

    await world.desired.updatePerson('2101', { cards: [] });
    await world.desired.updatePerson('2102', { cards: ['6100'] });
    // The new owner's job runs first: the device still has the card on 2101.
    const job = await world.finished((await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '2102' })).jobId);
    expect(await job.getState(), job.failedReason).toBe('completed');
    expect(terminal.cards()).toEqual([expect.objectContaining({ cardNo: '6100', employeeNo: '2102' })]);
  });

  it('spends at most two logins on wrong credentials however many jobs wait, and resumes when they are fixed', async () => {
    const { terminal, device } = await terminalDevice('wrong password', { lockoutThreshold: 5 }, 'not-the-password');
    const people = Array.from({ length: 12 }, (_, i) => `30${String(i).padStart(2, '0')}`);
    for (const employeeNo of people) await person(employeeNo);
    await world.desired.setDevicePeople(device.id, people);
    const ids = await world.jobs.enqueueMany('person.upsert', people.map((employeeNo) => ({ deviceId: device.id, employeeNo })));

    await waitFor(async () => (await world.desired.getDevice(device.id))?.status === 'auth_failed', 15_000, 'device marked auth_failed');
    // Every job gets its turn and must not try the device again.
    await waitFor(async () => {
      const states = await Promise.all(ids.map(async (id) => (await world.queue.getJob(id))?.getState()));
      return states.every((state) => state === 'delayed');
    }, 15_000, 'all jobs waiting');
    expect(terminal.authFailures).toBe(1);
    expect(terminal.users()).toEqual([]);

    // A second wrong password: the second (last) failure of the window.
    await world.desired.updateDevice(device.id, { password: 'still-wrong' });
    await world.jobs.resumeDevice(device.id);
    await waitFor(async () => (await world.desired.getDevice(device.id))?.status === 'auth_failed', 15_000, 'auth_failed again');
    expect(terminal.authFailures).toBe(2);

    // The right password now: the budget is spent, so nothing is tried until the window passes.
    await world.desired.updateDevice(device.id, { password: terminal.password });
    await world.jobs.resumeDevice(device.id);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(terminal.authFailures).toBe(2);
    expect(terminal.users()).toEqual([]);
    const job = await world.queue.getJob(ids[0]!);
    expect(await job?.getState()).toBe('delayed');

    // Once the window is over (simulated by clearing the Redis budget) the jobs run.
    await world.redis.del(`${world.prefix}:isapi:auth-failures:${device.id}`);
    await world.jobs.resumeDevice(device.id);
    await waitFor(async () => terminal.users().length === people.length, 30_000, 'all people provisioned');
    expect(terminal.authFailures).toBe(2);
    expect((await world.desired.getDevice(device.id))?.status).toBe('online');
  });

  it('retries a busy device with backoff until it succeeds', async () => {
    const { terminal, device } = await terminalDevice('busy');
    await person('4001');
    await world.desired.setDevicePeople(device.id, ['4001']);
    terminal.queueFault({ kind: 'busy', times: 2, match: { pathIncludes: 'UserInfo/Record' } });
    const job = await world.finished((await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '4001' })).jobId);
    expect(await job.getState(), job.failedReason).toBe('completed');
    expect(job.attemptsMade).toBeGreaterThanOrEqual(3);
    expect(terminal.users().map((u) => u.employeeNo)).toEqual(['4001']);
  });

  it('waits out a device that is down instead of spending a connect attempt per job, and catches up when it is back', async () => {
    const port = await freePort();
    const device = await world.desired.createDevice({ name: 'down', host: '127.0.0.1', port, scheme: 'http', username: 'admin', password: 'Sim-Password-1' });
    const people = Array.from({ length: 10 }, (_, i) => `45${String(i).padStart(2, '0')}`);
    for (const employeeNo of people) await person(employeeNo);
    await world.desired.setDevicePeople(device.id, people);
    const attempts = async () => Number(/hikhub_isapi_requests_total\{operation="device\.info",outcome="retry",service="provisioner"\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${provisioner.metricsPort}/metrics`)).text())?.[1] ?? 0);
    const before = await attempts();
    const ids = await world.jobs.enqueueMany('person.upsert', people.map((employeeNo) => ({ deviceId: device.id, employeeNo })));
    await waitFor(async () => (await world.desired.getDevice(device.id))?.status === 'unreachable', 10_000, 'device marked unreachable');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // Ten jobs waited; only the circuit's probes tried to connect (1 s, then 2 s apart).
    expect(await attempts() - before).toBeLessThanOrEqual(4);

    const terminal = await startSimulatedTerminal({ port });
    terminals.push(terminal);
    for (const id of ids) expect(await (await world.finished(id, 45_000)).getState()).toBe('completed');
    expect(terminal.users()).toHaveLength(10);
    expect((await world.desired.getDevice(device.id))?.status).toBe('online');
  });

  it('does not duplicate a write whose answer was lost', async () => {
    const { terminal, device } = await terminalDevice('lossy', {}, undefined);
    await person('5001', { cards: ['9001'] });
    await world.desired.setDevicePeople(device.id, ['5001']);
    terminal.queueFault({ kind: 'lose-response', times: 1, match: { pathIncludes: 'UserInfo/Record' } });
    terminal.queueFault({ kind: 'lose-response', times: 1, match: { pathIncludes: 'CardInfo/Record' } });
    const job = await world.finished((await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '5001' })).jobId);
    expect(await job.getState(), job.failedReason).toBe('completed');
    expect(terminal.users().map((u) => u.employeeNo)).toEqual(['5001']);
    expect(terminal.cards().map((c) => c.cardNo)).toEqual(['9001']);
    // The retry after the lost Record searched first and modified instead of recording again.
    const calls = terminal.requestLog.filter((entry) => entry.httpStatus !== 401).map((entry) => entry.path.replace(/\?.*/, ''));
    expect(calls.filter((path) => path.endsWith('UserInfo/Record'))).toHaveLength(1);
    expect(calls.indexOf('/ISAPI/AccessControl/UserInfo/Search')).toBeGreaterThan(calls.indexOf('/ISAPI/AccessControl/UserInfo/Record'));
    expect(calls).toContain('/ISAPI/AccessControl/UserInfo/Modify');
  });

  it('fails a permanent device error at once, with its subStatusCode in the job result', async () => {
    const { terminal, device } = await terminalDevice('full', { capacity: { users: 0 } });
    await person('6001');
    await world.desired.setDevicePeople(device.id, ['6001']);
    const job = await world.finished((await world.jobs.enqueue('person.upsert', { deviceId: device.id, employeeNo: '6001' })).jobId);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    const summary = await world.jobs.get(job.id!);
    expect(summary?.result).toMatchObject({ failed: { errorClass: 'permanent', subStatusCode: 'deviceUserFull' } });
    await waitFor(async () => (await world.desired.assignment(device.id, '6001'))?.state === 'failed', 5_000, 'assignment failed');
    expect(terminal.users()).toEqual([]);
  });

  it('reconciles drift: users removed and added behind hikhub’s back', async () => {
    const { terminal, device } = await terminalDevice('tampered', {}, undefined, true);
    const people = ['7001', '7002', '7003'];
    for (const employeeNo of people) await person(employeeNo, { face: employeeNo === '7002' });
    await world.desired.setDevicePeople(device.id, people);
    for (const id of await world.jobs.enqueueMany('person.upsert', people.map((employeeNo) => ({ deviceId: device.id, employeeNo })))) await world.finished(id);
    expect(terminal.users()).toHaveLength(3);

    terminal.removeUser('7002');
    terminal.addUser({ employeeNo: '9999', name: 'Intruder' });
    const { jobId } = await world.jobs.enqueue('device.reconcile', { deviceId: device.id });
    const reconcile = await world.finished(jobId);
    expect(reconcile.returnvalue).toMatchObject({ usersOnDevice: 3, missing: 1, unknownOnDevice: 1, deleting: 1 });
    await waitFor(async () => {
      const ids = terminal.users().map((u) => u.employeeNo).sort();
      return ids.join() === people.join() && terminal.faces().some((f) => f.FPID === '7002');
    }, 30_000, 'device repaired');
  });

  it('keeps the people a newly added terminal already holds (pruneUnknownUsers is off by default)', async () => {
    const { terminal, device } = await terminalDevice('existing site');
    expect(device.pruneUnknownUsers).toBe(false);
    for (const employeeNo of ['8001', '8002', '8003']) terminal.addUser({ employeeNo, name: `Enrolled ${employeeNo}` });
    await person('8100');
    await world.desired.setDevicePeople(device.id, ['8100']);
    const reconcile = await world.finished((await world.jobs.enqueue('device.reconcile', { deviceId: device.id })).jobId);
    expect(reconcile.returnvalue).toMatchObject({ usersOnDevice: 3, missing: 1, unknownOnDevice: 3, deleting: 0 });
    await waitFor(async () => terminal.users().some((user) => user.employeeNo === '8100'), 30_000, 'assigned person pushed');
    expect(terminal.users().map((user) => user.employeeNo).sort()).toEqual(['8001', '8002', '8003', '8100']);
  });

  it('configures the event push into a free slot and never a foreign one', async () => {
    const { terminal, device } = await terminalDevice('push');
    await world.desired.setEventPush(device.id, 'http://10.1.2.3:8080/hikvision/events/{token}', 'secret-token-1');
    const job = await world.finished((await world.jobs.enqueue('device.configure-events', { deviceId: device.id })).jobId);
    expect(await job.getState(), job.failedReason).toBe('completed');
    const slot = terminal.httpHosts().find((host) => Number(host.id) === (job.returnvalue as { slotId: number }).slotId);
    expect(slot).toMatchObject({ ipAddress: "10.1.2.3", portNo: "8080", url: '/hikvision/events/secret-token-1' });
    expect((await world.desired.getDevice(device.id))?.eventSlotId).toBe(Number(slot?.id));
  });

  it('exports ISAPI and job metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${provisioner.metricsPort}/metrics`)).text();
    expect(text).toMatch(/hikhub_isapi_requests_total\{operation="user\.record",outcome="ok",service="provisioner"\} \d+/);
    expect(text).toContain('hikhub_isapi_request_duration_seconds_bucket');
    expect(text).toMatch(/hikhub_provisioning_jobs_total\{operation="person\.upsert",outcome="succeeded",service="provisioner"\} \d+/);
    expect(text).toContain('hikhub_provisioning_retries_total');
    expect(text).toMatch(/hikhub_provisioning_devices\{status="online",service="provisioner"\} [1-9]/);
    expect(text).toContain('hikhub_queue_jobs{queue="provisioning"');
    expect(text).toMatch(/hikhub_provisioning_assignments\{state="synced",service="provisioner"\} [1-9]/);
    expect(text).toMatch(/hikhub_provisioning_assignments\{state="failed",service="provisioner"\} [1-9]/);
  });
});
