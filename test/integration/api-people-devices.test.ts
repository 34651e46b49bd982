import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';

const ADMIN_TOKEN = 'people-devices-admin-token-0123456789';

/** The console's people/devices additions: assignments on the people list, the person-side PUT, job counts per device. */
describe('admin API: people ↔ devices additions', () => {
  let t: TestApi;
  const deviceIds: string[] = [];

  beforeAll(async () => {
    t = await startTestApi('api-people-devices', { ADMIN_TOKEN });
    for (const host of ['192.0.2.31', '192.0.2.32', '192.0.2.33']) {
      const created = await t.request('POST', '/api/v1/devices', { json: { name: host, host, port: 80, username: 'admin', password: 'pw-123456' } });
      deviceIds.push(created.body.id);
    }
    for (const employeeNo of ['P1', 'P2', 'P3']) await t.request('POST', '/api/v1/people', { json: { employeeNo, name: `Person ${employeeNo}` } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('PUT /people/{employeeNo}/devices sets the exact set and queues the same jobs as the per-device endpoint', async () => {
    const first = await t.request('PUT', '/api/v1/people/P1/devices', { json: { deviceIds: [deviceIds[0], deviceIds[1]] } });
    expect(first.status).toBe(200);
    expect(first.body.employeeNo).toBe('P1');
    expect(first.body.devices.map((d: { deviceId: string; state: string }) => [d.deviceId, d.state]).sort()).toEqual([[deviceIds[0], 'pending'], [deviceIds[1], 'pending']].sort());
    expect(first.body.jobs).toBe(2);
    expect(await t.queue.getJob(`person.upsert__${deviceIds[0]}__P1`)).toBeTruthy();

    const second = await t.request('PUT', '/api/v1/people/P1/devices', { json: { deviceIds: [deviceIds[1], deviceIds[2]] } });
    expect(second.body).toMatchObject({ added: [deviceIds[2]], removed: [deviceIds[0]] });
    expect(await t.queue.getJob(`person.delete__${deviceIds[0]}__P1`)).toBeTruthy();
    const viaDevice = await t.request('GET', `/api/v1/devices/${deviceIds[2]}/people`);
    expect(viaDevice.body.assignments.map((a: { employeeNo: string }) => a.employeeNo)).toEqual(['P1']);

    expect((await t.request('PUT', '/api/v1/people/NOPE/devices', { json: { deviceIds: [] } })).status).toBe(404);
    const unknown = await t.request('PUT', '/api/v1/people/P1/devices', { json: { deviceIds: ['00000000-0000-4000-8000-000000000000'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.issues[0].path).toBe('deviceIds');
    expect((await t.request('PUT', '/api/v1/people/P1/devices', { json: { deviceIds: ['x'] } })).status).toBe(400);
  });

  it('GET /people?include=devices carries every person\'s assignments', async () => {
    await t.request('PUT', '/api/v1/people/P2/devices', { json: { deviceIds: [deviceIds[0]] } });
    const listed = await t.request('GET', '/api/v1/people?include=devices');
    const byNo = Object.fromEntries(listed.body.people.map((p: { employeeNo: string; devices: { deviceId: string }[] }) => [p.employeeNo, p.devices.map((d) => d.deviceId).sort()]));
    expect(byNo).toEqual({ P1: [deviceIds[1], deviceIds[2]].sort(), P2: [deviceIds[0]], P3: [] });
    for (const person of listed.body.people) {
      expect(person.devices).toEqual((await t.request('GET', `/api/v1/people/${person.employeeNo}`)).body.devices);
    }
    expect((await t.request('GET', '/api/v1/people')).body.people[0]).not.toHaveProperty('devices');
    expect((await t.request('GET', '/api/v1/people?include=cards')).status).toBe(400);
  });

  it('GET /devices carries jobCounts from the per-device job index', async () => {
    const devices = (await t.request('GET', '/api/v1/devices')).body.devices as { id: string; jobCounts: Record<string, number> }[];
    // No provisioner runs here: every job of a device is waiting (read-info plus the person jobs queued above).
    const expected = async (deviceId: string) => {
      const jobs = (await t.request('GET', `/api/v1/jobs?device=${deviceId}&state=waiting`)).body.jobs as unknown[];
      return { waiting: jobs.length, active: 0, delayed: 0, failed: 0 };
    };
    for (const device of devices) expect(device.jobCounts).toEqual(await expected(device.id));
    expect(devices.find((d) => d.id === deviceIds[0])!.jobCounts.waiting).toBeGreaterThanOrEqual(3);
  });
});
