import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { PROVISIONING_PAYLOAD_VERSION } from '../../libs/jobs/provisioning.js';
import { createProvisioningWorld } from '../helpers/provisioning.js';

/** ProvisioningJobs against the real Redis: coalescing, round-robin priorities, resuming a device. */
describe('provisioning jobs', () => {
  let world: Awaited<ReturnType<typeof createProvisioningWorld>>;

  beforeAll(async () => {
    world = await createProvisioningWorld('provisioning_jobs');
  });

  afterAll(async () => {
    await world?.teardown();
  });

  it('coalesces a repeated request into the pending job, and gives each device round-robin priorities', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const first = await world.jobs.enqueue('person.upsert', { deviceId: a, employeeNo: '1' });
    const again = await world.jobs.enqueue('person.upsert', { deviceId: a, employeeNo: '1' });
    expect(again).toEqual({ jobId: first.jobId, coalesced: true });
    await world.jobs.enqueue('person.upsert', { deviceId: a, employeeNo: '2' });
    await world.jobs.enqueue('person.upsert', { deviceId: b, employeeNo: '1' });
    const priority = async (jobId: string) => (await world.queue.getJob(jobId))?.opts.priority;
    expect(await priority(`person.upsert__${a}__1`)).toBe(1);
    expect(await priority(`person.upsert__${a}__2`)).toBe(2);
    expect(await priority(`person.upsert__${b}__1`)).toBe(1);
  });

  it('counts concurrent identical requests once in the device backlog', async () => {
    const device = randomUUID();
    const answers = await Promise.all([1, 2, 3].map(() => world.jobs.enqueue('person.upsert', { deviceId: device, employeeNo: '9' })));
    expect(answers.filter((answer) => !answer.coalesced)).toHaveLength(1);
    expect(await world.redis.hget(`${world.prefix}:provisioning:device-backlog`, device)).toBe('1');
  });

  it('lists a device’s jobs from its index, newest first, and forgets jobs that are gone', async () => {
    const [mine, other] = [randomUUID(), randomUUID()];
    for (const employeeNo of ['1', '2', '3']) await world.jobs.enqueue('person.upsert', { deviceId: mine, employeeNo });
    await world.jobs.enqueue('person.upsert', { deviceId: other, employeeNo: '1' });
    const listed = await world.jobs.list({ deviceId: mine });
    expect(listed.map((job) => job.employeeNo)).toEqual(['3', '2', '1']);
    expect(listed.every((job) => job.state === 'waiting')).toBe(true);
    expect(await world.jobs.list({ deviceId: mine, state: 'failed' })).toEqual([]);

    await (await world.queue.getJob(`person.upsert__${mine}__2`))!.remove();
    expect((await world.jobs.list({ deviceId: mine })).map((job) => job.employeeNo)).toEqual(['3', '1']);
    expect(await world.redis.zcard(`${world.prefix}:provisioning:device-jobs:${mine}`)).toBe(2);
  });

  it('resumes a device’s waiting jobs but leaves its scheduled reconcile on schedule', async () => {
    const device = randomUUID();
    const waiting = await world.queue.add('person.upsert', { v: PROVISIONING_PAYLOAD_VERSION, deviceId: device, employeeNo: '7' }, { jobId: `person.upsert__${device}__7`, delay: 600_000 });
    await world.queue.upsertJobScheduler(`reconcile__${device}`, { every: 3_600_000, startDate: Date.now() + 3_600_000 }, { name: 'device.reconcile', data: { v: PROVISIONING_PAYLOAD_VERSION, deviceId: device } });
    const delayed = async () => (await world.queue.getJobs(['delayed'])).filter((job) => job.data.deviceId === device).map((job) => job.name);
    expect((await delayed()).sort()).toEqual(['device.reconcile', 'person.upsert']);

    expect(await world.jobs.resumeDevice(device)).toBe(1);
    expect(await delayed()).toEqual(['device.reconcile']);
    expect(await (await world.queue.getJob(waiting.id!))?.getState()).toBe('waiting');
    await world.queue.removeJobScheduler(`reconcile__${device}`);
  });
});
