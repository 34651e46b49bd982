import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAsset } from '../../tools/simulator/assets.js';
import { startSimulatedTerminal, type SimulatedTerminal } from '../../tools/simulator/terminal.js';
import { startSystem, type RunningSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The "done when", end to end: with the whole system running as `npm start` runs it (one
 * process, every service), the admin API alone puts 100 people with cards and faces onto 3
 * simulated face terminals; a reconcile after tampering on one terminal restores it; all of it
 * visible in GET /api/v1/jobs and in the provisioner's /metrics.
 */

const PEOPLE = 100;
const FACES = { 'face.jpg': loadAsset('face.jpg'), 'face-2.jpg': loadAsset('face-2.jpg') };

interface PersonSpec {
  employeeNo: string;
  name: string;
  cards: string[];
  validFrom?: string;
  validTo?: string;
  face: keyof typeof FACES;
}

/** 100 people: every 3rd with a card, every 10th with two, every 4th with a validity window; faces alternate. */
const people: PersonSpec[] = Array.from({ length: PEOPLE }, (_, index) => {
  const n = index + 1;
  const employeeNo = String(2000 + n);
  const cards = n % 10 === 0 ? [`9${employeeNo}01`, `9${employeeNo}02`] : n % 3 === 0 ? [`9${employeeNo}01`] : [];
  return {
    employeeNo,
    name: `Person ${n}`,
    cards,
    ...(n % 4 === 0 ? { validFrom: '2025-01-01T08:00:00Z', validTo: '2030-06-30T18:30:00Z' } : {}),
    face: n % 2 === 0 ? 'face-2.jpg' : 'face.jpg',
  };
});
const byEmployeeNo = new Map(people.map((person) => [person.employeeNo, person]));

interface JobView {
  id: string;
  name: string;
  deviceId: string | null;
  employeeNo: string | null;
  state: string;
  processedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  result: unknown;
}

/** One sample of a Prometheus text exposition, matching the given labels (others ignored). */
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** Faces by FPID with a hash of the picture (deep-comparing Buffers byte by byte in expect() is very slow). */
function faceDigests(terminal: SimulatedTerminal): { FPID: string; FDID: string; sha256: string }[] {
  return terminal.faces().map((face) => ({ FPID: face.FPID, FDID: face.FDID, sha256: createHash('sha256').update(face.bytes).digest('hex') }));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

describe('provisioning end to end: npm start, the admin API, 3 terminals, 100 people', () => {
  const terminals: SimulatedTerminal[] = [];
  const deviceIds: string[] = [];
  let system: RunningSystem | undefined;
  const api: RunningSystem['api'] = (...args) => system!.api(...args);
  const expectStatus: RunningSystem['expectStatus'] = (...args) => system!.expectStatus(...args);
  const logTail = () => system?.logTail() ?? '';

  async function jobsOf(deviceId: string, state: 'completed' | 'failed' | 'active' | 'waiting' | 'delayed' | 'prioritized'): Promise<JobView[]> {
    return ((await expectStatus(200, 'GET', `/api/v1/jobs?device=${deviceId}&state=${state}&limit=1000`)) as { jobs: JobView[] }).jobs;
  }

  /** waitFor that shows the system's log tail and `explain()` when it gives up. */
  async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string, explain: () => Promise<unknown>): Promise<T> {
    // The job listing costs the system a Redis round trip per job: poll a few times a second, not 20.
    const paced = async () => (await probe()) || (await sleep(200), undefined);
    try {
      return await waitFor(paced, timeoutMs, what);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- state ---\n${JSON.stringify(await explain().catch((e: Error) => e.message), null, 1).slice(0, 6000)}\n--- system log tail ---\n${logTail()}`);
    }
  }

  const provisionerMetrics = async () => system!.metrics(system!.ports.provisionerMetrics);

  beforeAll(async () => {
    for (const [index, latencyMs] of [5, 8, 10].entries()) {
      terminals.push(await startSimulatedTerminal({ serialNumber: `DS-K1T671MF20240115V030215ENE2E00${index + 1}`, deviceName: `Door ${index + 1}`, latencyMs }));
    }
    system = await startSystem('provisioning_system');
  }, 60_000);

  afterAll(async () => {
    await system?.cleanup();
    for (const terminal of terminals) await terminal.close();
  });

  it('puts 100 people with cards and faces onto 3 terminals through the API alone', async () => {
    for (const [index, terminal] of terminals.entries()) {
      const device = await expectStatus(201, 'POST', '/api/v1/devices', {
        // Pruning is asked for: the reconcile test below expects strangers deleted.
        json: { name: `Door ${index + 1}`, host: terminal.host, port: terminal.port, username: terminal.username, password: terminal.password, pruneUnknownUsers: true },
      });
      expect(device).toMatchObject({ host: terminal.host, port: terminal.port, status: 'pending', pruneUnknownUsers: true });
      expect(JSON.stringify(device)).not.toContain(terminal.password);
      deviceIds.push(device.id as string);
    }
    for (const person of people) {
      const { face, ...input } = person;
      const created = await expectStatus(201, 'POST', '/api/v1/people', { json: input });
      expect(created).toMatchObject({ employeeNo: person.employeeNo, cards: person.cards, faceSha256: null });
      const stored = await expectStatus(200, 'PUT', `/api/v1/people/${person.employeeNo}/face`, { jpeg: FACES[face] });
      // Nobody is assigned yet: nothing to push.
      expect(stored).toMatchObject({ employeeNo: person.employeeNo, bytes: FACES[face].length, jobs: 0 });
    }

    const started = Date.now();
    const everyone = people.map((person) => person.employeeNo);
    for (const deviceId of deviceIds) {
      const change = await expectStatus(200, 'PUT', `/api/v1/devices/${deviceId}/people`, { json: { employeeNos: everyone } });
      expect(change).toMatchObject({ removed: [], kept: [], jobs: PEOPLE });
      expect([...(change.added as string[])].sort()).toEqual([...everyone].sort());
    }

    for (const deviceId of deviceIds) {
      await eventually(
        async () => {
          if ((await jobsOf(deviceId, 'failed')).length > 0) throw new Error(`failed jobs on ${deviceId}: ${JSON.stringify(await jobsOf(deviceId, 'failed'))}\n${logTail()}`);
          const done = (await jobsOf(deviceId, 'completed')).filter((job) => job.name === 'person.upsert');
          return done.length === PEOPLE;
        },
        60_000,
        `100 person.upsert jobs completed on device ${deviceId}`,
        async () => ({
          completed: (await jobsOf(deviceId, 'completed')).length,
          active: await jobsOf(deviceId, 'active'),
          waiting: (await jobsOf(deviceId, 'waiting')).length,
          prioritized: (await jobsOf(deviceId, 'prioritized')).length,
          delayed: await jobsOf(deviceId, 'delayed'),
        }),
      );
    }
    const elapsed = Date.now() - started;
    console.log(`[provisioning-system] 3 devices × ${PEOPLE} people with faces synced in ${seconds(elapsed)} (from the first PUT /devices/{id}/people to every person.upsert completed)`);

    for (const [index, deviceId] of deviceIds.entries()) {
      const terminal = terminals[index]!;
      expect(await jobsOf(deviceId, 'failed')).toEqual([]);
      const completed = await jobsOf(deviceId, 'completed');
      const upserts = completed.filter((job) => job.name === 'person.upsert');
      expect(upserts.map((job) => job.employeeNo).sort()).toEqual([...everyone].sort());
      for (const job of upserts) {
        expect(job).toMatchObject({ id: `person.upsert__${deviceId}__${job.employeeNo}`, deviceId, state: 'completed', lastError: null });
        expect(job.result).toMatchObject({ face: 'uploaded' });
      }
      expect(completed.filter((job) => job.name === 'device.read-info')).toHaveLength(1);

      const device = await expectStatus(200, 'GET', `/api/v1/devices/${deviceId}`);
      expect(device).toMatchObject({ status: 'online', serialNumber: terminal.identity.serialNumber, model: terminal.identity.model, firmwareVersion: terminal.identity.firmwareVersion, lastError: null });

      const { assignments } = (await expectStatus(200, 'GET', `/api/v1/devices/${deviceId}/people`)) as { assignments: { employeeNo: string; state: string; faceSynced: boolean; lastError: string | null }[] };
      expect(assignments).toHaveLength(PEOPLE);
      for (const assignment of assignments) expect(assignment, assignment.employeeNo).toMatchObject({ state: 'synced', faceSynced: true, lastError: null });

      expectTerminalHoldsEveryone(terminal);
    }
  }, 120_000);

  function expectTerminalHoldsEveryone(terminal: SimulatedTerminal): void {
    const users = terminal.users();
    expect(users.map((user) => user.employeeNo).sort()).toEqual(people.map((person) => person.employeeNo).sort());
    for (const user of users) {
      const person = byEmployeeNo.get(user.employeeNo)!;
      expect(user.name).toBe(person.name);
      expect(user.Valid, user.employeeNo).toMatchObject(
        person.validFrom ? { enable: true, beginTime: '2025-01-01T08:00:00', endTime: '2030-06-30T18:30:00' } : { enable: false },
      );
    }
    const expectedCards = people.flatMap((person) => person.cards.map((cardNo) => ({ cardNo, employeeNo: person.employeeNo })));
    expect(terminal.cards().map(({ cardNo, employeeNo }) => ({ cardNo, employeeNo })).sort((a, b) => a.cardNo.localeCompare(b.cardNo))).toEqual(
      expectedCards.sort((a, b) => a.cardNo.localeCompare(b.cardNo)),
    );
    const faces = terminal.faces();
    expect(faces).toHaveLength(PEOPLE);
    for (const face of faces) {
      const person = byEmployeeNo.get(face.FPID);
      expect(person, `face ${face.FPID} belongs to someone`).toBeDefined();
      expect(face.bytes.equals(FACES[person!.face]), `face of ${face.FPID} is ${person!.face} byte for byte`).toBe(true);
    }
  }

  it('restores a tampered terminal on reconcile and leaves the others alone', async () => {
    expect(deviceIds).toHaveLength(3);
    const [, target] = terminals;
    const targetId = deviceIds[1]!;
    // Behind hikhub's back: 7 people removed (with their cards and faces), 3 strangers added.
    const removed = ['2003', '2004', '2010', '2012', '2020', '2051', '2099'];
    const intruders = ['7001', '7002', '7003'];
    for (const employeeNo of removed) expect(target!.removeUser(employeeNo)).toBe(true);
    for (const employeeNo of intruders) target!.addUser({ employeeNo, name: `Intruder ${employeeNo}` });
    expect(target!.users()).toHaveLength(PEOPLE - removed.length + intruders.length);
    expect(removed.some((employeeNo) => byEmployeeNo.get(employeeNo)!.cards.length > 0)).toBe(true);
    const before = terminals.map((terminal) => ({ requests: terminal.requestLog.length, users: terminal.users(), cards: terminal.cards(), faces: faceDigests(terminal) }));

    const started = Date.now();
    const queued = await expectStatus(202, 'POST', `/api/v1/devices/${targetId}/reconcile`);
    expect(queued).toEqual({ jobId: `device.reconcile__${targetId}__device` });
    const jobId = queued.jobId as string;
    const reconcile = await eventually(
      async () => {
        const job = (await expectStatus(200, 'GET', `/api/v1/jobs/${jobId}`)) as JobView;
        if (job.state === 'failed') throw new Error(`reconcile failed: ${JSON.stringify(job)}\n${logTail()}`);
        return job.state === 'completed' && job;
      },
      30_000,
      'the reconcile job to complete',
      async () => api('GET', `/api/v1/jobs/${jobId}`),
    );
    expect(reconcile.result).toEqual({ usersOnDevice: PEOPLE - removed.length + intruders.length, missing: removed.length, drifted: 0, unknownOnDevice: intruders.length, deleting: intruders.length });

    // The follow-ups: person.upsert for the 7 (same deterministic ids, run afresh) and person.delete for the 3.
    const followUps = [...removed.map((employeeNo) => `person.upsert__${targetId}__${employeeNo}`), ...intruders.map((employeeNo) => `person.delete__${targetId}__${employeeNo}`)];
    const finished = await eventually(
      async () => {
        const jobs = await Promise.all(followUps.map(async (id) => (await expectStatus(200, 'GET', `/api/v1/jobs/${id}`)) as JobView));
        const failed = jobs.filter((job) => job.state === 'failed');
        if (failed.length > 0) throw new Error(`follow-up jobs failed: ${JSON.stringify(failed)}\n${logTail()}`);
        return jobs.every((job) => job.state === 'completed' && Date.parse(job.processedAt!) >= Date.parse(reconcile.processedAt!)) && jobs;
      },
      30_000,
      'the reconcile follow-up jobs to complete',
      async () => Promise.all(followUps.map((id) => api('GET', `/api/v1/jobs/${id}`).then((r) => r.body as unknown))),
    );
    const elapsed = Date.now() - started;
    console.log(`[provisioning-system] reconcile of terminal 2 (7 missing, 3 intruders) converged in ${seconds(elapsed)} (from POST /reconcile to every follow-up job completed)`);

    for (const job of finished.filter((j) => j.name === 'person.upsert')) expect(job.result, job.id).toMatchObject({ user: 'record', face: 'uploaded' });
    for (const job of finished.filter((j) => j.name === 'person.delete')) expect(job.result, job.id).toMatchObject({ existed: true });
    expect(await jobsOf(targetId, 'failed')).toEqual([]);
    // The device's job list tells the story: the reconcile, the 3 deletes, and 100 person.upserts of which 7 ran again.
    const completed = await jobsOf(targetId, 'completed');
    expect(completed.filter((job) => job.name === 'device.reconcile').map((job) => job.id)).toEqual([jobId]);
    expect(completed.filter((job) => job.name === 'person.delete').map((job) => job.employeeNo).sort()).toEqual(intruders);
    const upserts = completed.filter((job) => job.name === 'person.upsert');
    expect(upserts).toHaveLength(PEOPLE);
    const rerun = upserts.filter((job) => Date.parse(job.processedAt!) >= Date.parse(reconcile.processedAt!)).map((job) => job.employeeNo);
    expect(rerun.sort()).toEqual(removed);
    // Newest first: the follow-ups lead the list.
    expect(completed.slice(0, removed.length + intruders.length).map((job) => job.name).sort()).toEqual([...intruders.map(() => 'person.delete'), ...removed.map(() => 'person.upsert')]);

    expectTerminalHoldsEveryone(target!);
    for (const intruder of intruders) expect(target!.users().some((user) => user.employeeNo === intruder)).toBe(false);
    const { assignments } = (await expectStatus(200, 'GET', `/api/v1/devices/${targetId}/people`)) as { assignments: { employeeNo: string; state: string; faceSynced: boolean }[] };
    expect(assignments).toHaveLength(PEOPLE);
    for (const assignment of assignments) expect(assignment, assignment.employeeNo).toMatchObject({ state: 'synced', faceSynced: true });

    // Terminals 1 and 3: not a single request, same contents.
    for (const index of [0, 2]) {
      const terminal = terminals[index]!;
      expect(terminal.requestLog.length, `requests to terminal ${index + 1}`).toBe(before[index]!.requests);
      expect(terminal.users()).toEqual(before[index]!.users);
      expect(terminal.cards()).toEqual(before[index]!.cards);
      expect(faceDigests(terminal)).toEqual(before[index]!.faces);
      expectTerminalHoldsEveryone(terminal);
    }
    for (const deviceId of deviceIds) expect(await jobsOf(deviceId, 'failed')).toEqual([]);
  }, 60_000);

  it("shows the work in the provisioner's /metrics", async () => {
    const text = await provisionerMetrics();
    console.log(
      `[provisioning-system] provisioner /metrics:\n${text
        .split('\n')
        .filter((line) => /^hikhub_(isapi_requests_total|provisioning_jobs_total|provisioning_devices|queue_jobs)\{/.test(line) && !line.endsWith(' 0'))
        .join('\n')}`,
    );
    const restores = 7;
    expect(metricValue(text, 'hikhub_isapi_requests_total', { operation: 'user.record', outcome: 'ok' })).toBeGreaterThanOrEqual(3 * PEOPLE + restores);
    expect(metricValue(text, 'hikhub_isapi_request_duration_seconds_count', { operation: 'user.record' })).toBeGreaterThanOrEqual(3 * PEOPLE + restores);
    expect(metricValue(text, 'hikhub_isapi_request_duration_seconds_count', { operation: 'face.setup' })).toBeGreaterThanOrEqual(3 * PEOPLE + restores);
    expect(metricValue(text, 'hikhub_provisioning_jobs_total', { operation: 'person.upsert', outcome: 'succeeded' })).toBeGreaterThanOrEqual(3 * PEOPLE + restores);
    expect(metricValue(text, 'hikhub_provisioning_jobs_total', { operation: 'person.upsert', outcome: 'failed' })).toBe(0);
    expect(metricValue(text, 'hikhub_provisioning_jobs_total', { operation: 'device.reconcile', outcome: 'succeeded' })).toBe(1);
    expect(metricValue(text, 'hikhub_provisioning_jobs_total', { operation: 'person.delete', outcome: 'succeeded' })).toBe(3);
    expect(metricValue(text, 'hikhub_provisioning_devices', { status: 'online' })).toBe(3);
    expect(metricValue(text, 'hikhub_queue_jobs', { queue: 'provisioning', state: 'failed' })).toBe(0);
  });

  it('stops gracefully on SIGTERM', async () => {
    expect(await system!.stop()).toBe(0);
    expect(system!.process.logs).toContain('service stopped');
  });
});
