import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../libs/crypto/secret-box.js';
import { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { isIssuedPathToken } from '../../libs/edge-auth/path-token.js';
import { PROVISIONING_QUEUE } from '../../libs/jobs/provisioning.js';
import { addJob } from '../../libs/jobs/queues.js';
import { DesiredState } from '../../libs/provisioning/desired-state.js';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

describe('admin API: assignments and the jobs they queue', () => {
  let t: TestApi;
  let door: string;
  let gate: string;

  beforeAll(async () => {
    // No ADMIN_TOKEN: the API generates one in DATA_DIR, as on a single-machine install.
    t = await startTestApi('api_jobs', { EVENT_PUSH_BASE_URL: 'http://hikhub.test:8080/' });
    const device = async (host: string) => (await t.request('POST', '/api/v1/devices', { json: { name: host, host, port: 80, username: 'admin', password: 'device-pw' } })).body.id as string;
    door = await device('192.0.2.1');
    gate = await device('192.0.2.2');
    for (const [employeeNo, cards] of [['A1', ['KA1']], ['B1', ['KB1', 'KB2']], ['C1', []]] as const) {
      expect((await t.request('POST', '/api/v1/people', { json: { employeeNo, name: employeeNo, cards } })).status).toBe(201);
    }
  });

  afterAll(async () => {
    await t?.close();
  });

  const jobIds = async () => (await t.queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'])).map((job) => job.id).sort();
  const putPeople = (deviceId: string, employeeNos: unknown) => t.request('PUT', `/api/v1/devices/${deviceId}/people`, { json: { employeeNos } });
  /** What only the server knows: the sealed push token, opened with the key it generated in DATA_DIR. */
  const storedPushUrl = async (deviceId: string) => {
    const key = await readFile(join(t.env.DATA_DIR, 'secrets', 'credentials.key'), 'utf8');
    return (await new DesiredState(t.db, SecretBox.fromText(key)).deviceConnection(deviceId))!.eventPushUrl!;
  };

  it('generated its admin token into DATA_DIR/secrets/admin-token', async () => {
    const stored = (await readFile(join(t.env.DATA_DIR, 'secrets', 'admin-token'), 'utf8')).trim();
    expect(stored).toBe(t.api.adminToken);
    expect(stored.length).toBeGreaterThanOrEqual(24);
    expect(t.logLines.join('\n')).not.toContain(stored);
  });

  it('queues person.upsert for added and person.delete for removed people under deterministic ids', async () => {
    const first = await putPeople(door, ['A1', 'B1']);
    expect(first.body).toEqual({ added: ['A1', 'B1'], removed: [], kept: [], jobs: 2 });
    const upsertA = await t.queue.getJob(`person.upsert__${door}__A1`);
    expect(upsertA?.data).toEqual({ v: 1, deviceId: door, employeeNo: 'A1' });
    expect(await upsertA?.getState()).toBe('prioritized');
    expect(await t.queue.getJob(`person.upsert__${door}__B1`)).toBeDefined();

    const before = await jobIds();
    const again = await putPeople(door, ['B1', 'A1', 'A1']);
    expect(again.body).toEqual({ added: [], removed: [], kept: ['B1', 'A1'], jobs: 0 });
    expect(await jobIds()).toEqual(before);

    const swap = await putPeople(door, ['B1', 'C1']);
    expect(swap.body).toEqual({ added: ['C1'], removed: ['A1'], kept: ['B1'], jobs: 2 });
    expect(await t.queue.getJob(`person.delete__${door}__A1`)).toBeDefined();
    expect(await t.queue.getJob(`person.upsert__${door}__C1`)).toBeDefined();

    const assignments = await t.request('GET', `/api/v1/devices/${door}/people`);
    expect(assignments.body.assignments.map((a: { employeeNo: string; state: string }) => [a.employeeNo, a.state])).toEqual([['B1', 'pending'], ['C1', 'pending']]);
    expect((await t.request('GET', '/api/v1/people/B1')).body.devices).toEqual([expect.objectContaining({ deviceId: door, state: 'pending', lastError: null })]);
  });

  it('refuses unknown people as a whole, listing them, and bad input per element', async () => {
    const unknown = await putPeople(door, ['B1', 'NOPE1', 'NOPE2']);
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('NOPE1, NOPE2');
    expect((await t.request('GET', `/api/v1/devices/${door}/people`)).body.assignments).toHaveLength(2);

    const malformed = await putPeople(door, ['B1', 'not valid']);
    expect(malformed.body.issues).toEqual([{ path: 'employeeNos[1]', message: 'expected 1–32 letters or digits' }]);
    expect((await putPeople(door, 'B1')).body.issues[0].path).toBe('employeeNos');
    expect((await putPeople(randomUUID(), ['B1'])).status).toBe(404);
  });

  it('fans a person change out to their devices, deletes taken cards, and coalesces a repeat', async () => {
    await putPeople(gate, ['B1']);
    const patched = await t.request('PATCH', '/api/v1/people/B1', { json: { name: 'B. One', cards: ['KB2', 'KB3'] } });
    expect(patched.body).toMatchObject({ name: 'B. One', cards: ['KB2', 'KB3'], jobs: 4 });
    for (const deviceId of [door, gate]) {
      expect(await t.queue.getJob(`person.upsert__${deviceId}__B1`)).toBeDefined();
      expect((await t.queue.getJob(`card.delete__${deviceId}__KB1`))?.data).toEqual({ v: 1, deviceId, cardNo: 'KB1' });
    }
    const before = await jobIds();
    expect((await t.request('PATCH', '/api/v1/people/B1', { json: { name: 'B. One' } })).body.jobs).toBe(2);
    expect(await jobIds()).toEqual(before);
  });

  it('queues face.upsert and face.delete per assigned device', async () => {
    const jpeg = await readFile(new URL('../../tools/simulator/assets/face.jpg', import.meta.url));
    expect((await t.request('PUT', '/api/v1/people/B1/face', { body: jpeg, contentType: 'image/jpeg' })).body.jobs).toBe(2);
    expect(await t.queue.getJob(`face.upsert__${gate}__B1`)).toBeDefined();
    expect((await t.request('DELETE', '/api/v1/people/B1/face')).body.jobs).toBe(2);
    expect(await t.queue.getJob(`face.delete__${door}__B1`)).toBeDefined();
  });

  it('queues person.delete on every device a deleted person was on', async () => {
    await t.request('POST', '/api/v1/people', { json: { employeeNo: 'D1', name: 'Leaver' } });
    await putPeople(gate, ['B1', 'D1']);
    expect((await t.request('DELETE', '/api/v1/people/D1')).body).toEqual({ employeeNo: 'D1', jobs: 1 });
    expect(await t.queue.getJob(`person.delete__${gate}__D1`)).toBeDefined();
  });

  it('queues reconcile and read-info, coalescing while one is pending', async () => {
    const reconcile = await t.request('POST', `/api/v1/devices/${door}/reconcile`);
    expect([reconcile.status, reconcile.body]).toEqual([202, { jobId: `device.reconcile__${door}__device` }]);
    const before = await jobIds();
    expect((await t.request('POST', `/api/v1/devices/${door}/reconcile`)).body.jobId).toBe(`device.reconcile__${door}__device`);
    expect(await jobIds()).toEqual(before);
    expect((await t.request('POST', `/api/v1/devices/${gate}/read-info`)).body.jobId).toBe(`device.read-info__${gate}__device`);
  });

  it('configures event push with a per-device token that ingest accepts, revoking the previous one', async () => {
    const edge = new EdgeCredentialStore(t.redis, t.env.QUEUE_PREFIX, { cacheMs: 0 });
    const first = await t.request('POST', `/api/v1/devices/${door}/configure-events`);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ jobId: `device.configure-events__${door}__device`, eventPushUrl: 'http://hikhub.test:8080/hikvision/events/{token}', tokenIssued: true, digestUsername: null });
    const firstToken = (await storedPushUrl(door)).split('/').at(-1)!;
    expect(isIssuedPathToken(firstToken)).toBe(true);
    expect(await edge.resolvePathToken(firstToken)).toBe(door);
    expect((await t.request('GET', `/api/v1/devices/${door}`)).text).not.toContain(firstToken);
    expect(await t.queue.getJob(`device.configure-events__${door}__device`)).toBeDefined();

    const second = await t.request('POST', `/api/v1/devices/${door}/configure-events`, { json: { url: 'https://events.example.com/in/{token}?site=1' } });
    expect(second.body.eventPushUrl).toBe('https://events.example.com/in/{token}?site=1');
    const secondToken = /in\/([^?]+)/.exec(await storedPushUrl(door))![1]!;
    expect(await edge.resolvePathToken(secondToken)).toBe(door);
    expect(await edge.resolvePathToken(firstToken)).toBeNull();

    const plain = await t.request('POST', `/api/v1/devices/${door}/configure-events`, { json: { url: 'http://10.0.0.5:8080/events' } });
    expect(plain.body.tokenIssued).toBe(false);
    expect(await edge.resolvePathToken(secondToken)).toBeNull();

    for (const url of ['ftp://x/{token}', 'not a url', 'http://user:pw@x/{token}', 'http://x/{token}/{token}']) {
      const bad = await t.request('POST', `/api/v1/devices/${door}/configure-events`, { json: { url } });
      expect([url, bad.status, bad.body.issues[0].path]).toEqual([url, 400, 'url']);
    }
  });

  it('revokes the push token of a device that is deleted', async () => {
    const edge = new EdgeCredentialStore(t.redis, t.env.QUEUE_PREFIX, { cacheMs: 0 });
    const id = (await t.request('POST', '/api/v1/devices', { json: { name: 'temp', host: '192.0.2.9', port: 80, username: 'admin', password: 'pw' } })).body.id as string;
    await t.request('POST', `/api/v1/devices/${id}/configure-events`);
    const token = (await storedPushUrl(id)).split('/').at(-1)!;
    expect(await edge.resolvePathToken(token)).toBe(id);
    expect((await t.request('DELETE', `/api/v1/devices/${id}`)).status).toBe(204);
    expect(await edge.resolvePathToken(token)).toBeNull();
  });

  it('runs a device\'s delayed jobs at once when its credentials change', async () => {
    const jobId = `device.reconcile__${gate}__device`;
    await addJob(t.queue, 'device.reconcile', { v: 1, deviceId: gate }, { jobId, delay: 3_600_000 });
    expect(await (await t.queue.getJob(jobId))!.getState()).toBe('delayed');
    expect((await t.request('PATCH', `/api/v1/devices/${gate}`, { json: { username: 'operator', password: 'new-pw' } })).status).toBe(200);
    expect(await (await t.queue.getJob(jobId))!.getState()).toBe('waiting');
  });

  it('lists jobs filtered by device and state, and validates the filters', async () => {
    const ofGate = (await t.request('GET', `/api/v1/jobs?device=${gate}`)).body.jobs as { deviceId: string; name: string; state: string }[];
    expect(ofGate.length).toBeGreaterThan(0);
    expect(new Set(ofGate.map((job) => job.deviceId))).toEqual(new Set([gate]));
    expect(ofGate.map((job) => job.name)).toContain('person.delete');
    expect(ofGate.find((job) => job.name === 'person.delete')).toEqual(expect.objectContaining({ id: `person.delete__${gate}__D1`, employeeNo: 'D1', cardNo: null, attempts: 0, maxAttempts: 3, lastError: null, result: null, createdAt: expect.any(String), finishedAt: null }));

    const waiting = (await t.request('GET', `/api/v1/jobs?device=${door}&state=waiting&limit=2`)).body.jobs as { state: string; deviceId: string }[];
    expect(waiting).toHaveLength(2);
    expect(waiting.every((job) => job.state === 'waiting' && job.deviceId === door)).toBe(true);
    expect((await t.request('GET', `/api/v1/jobs?device=${door}&state=failed`)).body.jobs).toEqual([]);

    const bad = await t.request('GET', '/api/v1/jobs?state=done&device=nope&limit=5000');
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(['device', 'limit', 'state']);
    expect(bad.body.message).toContain('expected one of active, waiting, delayed, prioritized, completed, failed');
  });

  it('shows one job, and retries only a failed one', async () => {
    const jobId = `device.reconcile__${door}__device`;
    expect((await t.request('GET', `/api/v1/jobs/${jobId}`)).body).toMatchObject({ id: jobId, name: 'device.reconcile', deviceId: door, state: 'waiting' });
    expect((await t.request('GET', '/api/v1/jobs/nope')).status).toBe(404);
    expect((await t.request('POST', '/api/v1/jobs/nope/retry')).status).toBe(404);
    expect((await t.request('POST', `/api/v1/jobs/${jobId}/retry`)).status).toBe(409);

    // Fail whichever job comes next, by hand (BullMQ's manual processing), as a provisioner would.
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(PROVISIONING_QUEUE, null, { connection, prefix: t.env.QUEUE_PREFIX });
    try {
      const job = (await worker.getNextJob('test-lock'))!;
      // Unrecoverable: failed at once instead of retried with backoff.
      await job.moveToFailed(new UnrecoverableError('device said no'), 'test-lock', false);
      const failed = (await t.request('GET', `/api/v1/jobs/${job.id}`)).body;
      expect(failed).toMatchObject({ state: 'failed', lastError: 'device said no', attempts: 1 });
      expect((await t.request('GET', '/api/v1/jobs?state=failed')).body.jobs.map((item: { id: string }) => item.id)).toEqual([job.id]);
      const retried = await t.request('POST', `/api/v1/jobs/${job.id}/retry`);
      expect([retried.status, retried.body]).toEqual([202, { jobId: job.id }]);
      expect((await t.request('GET', `/api/v1/jobs/${job.id}`)).body.state).toBe('waiting');
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });
});

describe('admin API: door controllers', () => {
  let t: TestApi;

  beforeAll(async () => {
    t = await startTestApi('api_doors');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('takes the doors people are granted, and re-provisions everyone when they change', async () => {
    const created = await t.request('POST', '/api/v1/devices', { json: { name: 'K2604', host: '192.0.2.40', port: 80, username: 'admin', password: 'device-pw', doors: [1, 2, 3, 4] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ doors: [1, 2, 3, 4] });
    const id = created.body.id as string;
    expect((await t.request('POST', '/api/v1/devices', { json: { name: 'x', host: '192.0.2.41', port: 80, username: 'a', password: 'p', doors: [1, 1] } })).body.message).toMatch(/doors.*each door once/);
    expect((await t.request('POST', '/api/v1/devices', { json: { name: 'x', host: '192.0.2.41', port: 80, username: 'a', password: 'p', doors: [0] } })).status).toBe(400);

    for (const employeeNo of ['D1', 'D2']) expect((await t.request('POST', '/api/v1/people', { json: { employeeNo, name: employeeNo } })).status).toBe(201);
    await t.request('PUT', `/api/v1/devices/${id}/people`, { json: { employeeNos: ['D1', 'D2'] } });
    // The assignment's jobs ran (simulated here by removing them): a door change must queue them again.
    for (const employeeNo of ['D1', 'D2']) await (await t.queue.getJob(`person.upsert__${id}__${employeeNo}`))?.remove();

    const patched = await t.request('PATCH', `/api/v1/devices/${id}`, { json: { doors: [1, 2] } });
    expect(patched.body).toMatchObject({ doors: [1, 2] });
    for (const employeeNo of ['D1', 'D2']) expect(await t.queue.getJob(`person.upsert__${id}__${employeeNo}`)).toBeDefined();
  });
});
