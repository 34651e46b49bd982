import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
const DEVICE_PASSWORD = 'Sup3r-secret-device-pw';
const face = () => readFile(new URL('../../tools/simulator/assets/face.jpg', import.meta.url));
const oversizeFace = () => readFile(new URL('../../tools/simulator/assets/oversize.jpg', import.meta.url));

describe('admin API: auth, devices, people, faces', () => {
  let t: TestApi;

  beforeAll(async () => {
    t = await startTestApi('api', { ADMIN_TOKEN });
  });

  afterAll(async () => {
    await t?.close();
  });

  const deviceInput = (overrides: Record<string, unknown> = {}) => ({ name: 'Door 1', host: '192.0.2.10', port: 80, username: 'admin', password: DEVICE_PASSWORD, ...overrides });

  describe('authentication', () => {
    it('answers 401 with WWW-Authenticate and a JSON error without a token, and with a wrong one', async () => {
      for (const token of [null, 'wrong-token', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
        const response = await t.request('GET', '/api/v1/devices', { token });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(response.body).toMatchObject({ error: 'unauthorized' });
        expect(response.text).not.toContain(ADMIN_TOKEN);
      }
    });

    it('answers 401 before routing, so unknown paths and spelling variants reveal nothing', async () => {
      for (const path of ['/api/v1/nothing-here', '/API/V1/DEVICES', '/api/v1/devices/', '/api/v1//devices', '/api']) {
        expect([path, (await t.request('GET', path, { token: null })).status]).toEqual([path, 401]);
      }
      expect((await t.request('GET', '/api/v1/devices', { token: ADMIN_TOKEN.toUpperCase() })).status).toBe(401);
      expect((await t.request('GET', '/api/v1/nothing-here')).status).toBe(404);
    });

    it('lets /healthz and /readyz through without a token', async () => {
      expect((await t.request('GET', '/healthz', { token: null })).status).toBe(200);
      expect((await t.request('GET', '/readyz', { token: null })).status).toBe(200);
    });

    it('exposes the admin token it runs with and never writes it to a log line', () => {
      expect(t.api.adminToken).toBe(ADMIN_TOKEN);
      expect(t.logLines.join('\n')).not.toContain(ADMIN_TOKEN);
    });
  });

  describe('devices', () => {
    it('creates a device, queues read-info, and never returns or stores the password in clear', async () => {
      const created = await t.request('POST', '/api/v1/devices', { json: deviceInput({ name: 'Lobby', host: 'door-1.example.com', port: 8000, scheme: 'https' }) });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'Lobby', host: 'door-1.example.com', port: 8000, scheme: 'https', username: 'admin', status: 'pending', lastError: null, serialNumber: null });
      expect(created.headers.get('location')).toBe(`/api/v1/devices/${created.body.id}`);
      expect(created.text).not.toContain(DEVICE_PASSWORD);
      expect(created.body).not.toHaveProperty('password');

      const job = await t.queue.getJob(`device.read-info__${created.body.id}__device`);
      expect(job?.name).toBe('device.read-info');
      expect(job?.opts.attempts).toBe(3);

      const stored = await sql<{ password_encrypted: string }>`select password_encrypted from managed_devices where id = ${created.body.id}`.execute(t.db);
      expect(stored.rows[0]!.password_encrypted).toMatch(/^v1\./);
      expect(stored.rows[0]!.password_encrypted).not.toContain(DEVICE_PASSWORD);

      const fetched = await t.request('GET', `/api/v1/devices/${created.body.id}`);
      expect(fetched.body).toEqual(created.body);
      const listed = await t.request('GET', '/api/v1/devices');
      expect(listed.body.devices.map((device: { id: string }) => device.id)).toContain(created.body.id);
      for (const response of [fetched, listed]) expect(response.text).not.toContain(DEVICE_PASSWORD);
      expect(t.logLines.join('\n')).not.toContain(DEVICE_PASSWORD);
    });

    it('refuses a second device at the same host and port with 409', async () => {
      await t.request('POST', '/api/v1/devices', { json: deviceInput({ host: '192.0.2.20' }) });
      const duplicate = await t.request('POST', '/api/v1/devices', { json: deviceInput({ host: '192.0.2.20', name: 'Other' }) });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body).toMatchObject({ error: 'conflict' });
    });

    it('names every bad field in a 400', async () => {
      const response = await t.request('POST', '/api/v1/devices', { json: { name: '', host: 'http://x', port: 70000, scheme: 'ftp', username: 'admin', extra: 1 } });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('bad_request');
      const paths = response.body.issues.map((issue: { path: string }) => issue.path);
      expect(paths).toEqual(expect.arrayContaining(['name', 'host', 'port', 'scheme', 'password']));
      expect(response.body.message).toContain('host: expected a hostname or an IP address');
      expect(response.body.message).toContain('port: expected 1–65535');
      expect(response.body.message).toMatch(/extra/);
    });

    it('accepts IPv6 addresses and refuses ports that are not integers', async () => {
      expect((await t.request('POST', '/api/v1/devices', { json: deviceInput({ host: '2001:DB8::7' }) })).body.host).toBe('2001:db8::7');
      expect((await t.request('POST', '/api/v1/devices', { json: deviceInput({ host: '2001:db8::7' }) })).status).toBe(409);
      const bad = await t.request('POST', '/api/v1/devices', { json: deviceInput({ host: '192.0.2.21', port: '80' }) });
      expect(bad.status).toBe(400);
      expect(bad.body.issues).toEqual([expect.objectContaining({ path: 'port' })]);
    });

    it('answers 415 for a body that is not JSON, 400 for broken JSON and 413 past 1 MiB', async () => {
      const text = await t.request('POST', '/api/v1/devices', { body: 'name=x', contentType: 'application/x-www-form-urlencoded' });
      expect(text.status).toBe(415);
      expect(text.body.error).toBe('unsupported_media_type');
      const broken = await t.request('POST', '/api/v1/devices', { body: '{"name":', contentType: 'application/json' });
      expect([broken.status, broken.body.error]).toEqual([400, 'bad_request']);
      const huge = await t.request('POST', '/api/v1/devices', { body: JSON.stringify({ name: 'x'.repeat(1_100_000) }), contentType: 'application/json' });
      expect([huge.status, huge.body.error]).toEqual([413, 'payload_too_large']);
    });

    it('patches a device; new credentials put a failed device back to pending and queue read-info', async () => {
      const created = (await t.request('POST', '/api/v1/devices', { json: deviceInput({ host: '192.0.2.30' }) })).body;
      await t.queue.getJob(`device.read-info__${created.id}__device`).then((job) => job?.remove());
      await sql`update managed_devices set status = 'auth_failed', last_error = 'login refused' where id = ${created.id}`.execute(t.db);

      const renamed = await t.request('PATCH', `/api/v1/devices/${created.id}`, { json: { name: 'Renamed' } });
      expect(renamed.body).toMatchObject({ name: 'Renamed', status: 'auth_failed' });
      expect(await t.queue.getJob(`device.read-info__${created.id}__device`)).toBeUndefined();

      const patched = await t.request('PATCH', `/api/v1/devices/${created.id}`, { json: { password: 'a-new-password' } });
      expect(patched.status).toBe(200);
      expect(patched.body.status).toBe('pending');
      expect(patched.text).not.toContain('a-new-password');
      expect(await t.queue.getJob(`device.read-info__${created.id}__device`)).toBeDefined();

      const empty = await t.request('PATCH', `/api/v1/devices/${created.id}`, { json: {} });
      expect(empty.status).toBe(400);
    });

    it('deletes a device from the desired state', async () => {
      const created = (await t.request('POST', '/api/v1/devices', { json: deviceInput({ host: '192.0.2.40' }) })).body;
      expect((await t.request('DELETE', `/api/v1/devices/${created.id}`)).status).toBe(204);
      expect((await t.request('GET', `/api/v1/devices/${created.id}`)).status).toBe(404);
      expect((await t.request('DELETE', `/api/v1/devices/${created.id}`)).status).toBe(404);
    });

    it('needs a URL to configure event push when EVENT_PUSH_BASE_URL is not set', async () => {
      const created = (await t.request('POST', '/api/v1/devices', { json: deviceInput({ host: '192.0.2.50' }) })).body;
      const response = await t.request('POST', `/api/v1/devices/${created.id}/configure-events`);
      expect(response.status).toBe(400);
      expect(response.body.issues).toEqual([{ path: 'url', message: 'required when EVENT_PUSH_BASE_URL is not set' }]);
      const wrongType = await t.request('POST', `/api/v1/devices/${created.id}/configure-events`, { body: 'url=x', contentType: 'text/plain' });
      expect(wrongType.status).toBe(415);
    });

    it('answers 404 for unknown and malformed device ids', async () => {
      for (const id of ['0190a5f0-0000-7000-8000-000000000000', 'not-a-uuid', "1' or '1'='1"]) {
        for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['GET', '/people'], ['POST', '/reconcile'], ['POST', '/read-info'], ['POST', '/configure-events']] as const) {
          const response = await t.request(method, `/api/v1/devices/${encodeURIComponent(id)}${suffix}`, method === 'PATCH' ? { json: { name: 'x' } } : {});
          expect([`${method} ${suffix}`, response.status, response.body?.error]).toEqual([`${method} ${suffix}`, 404, 'not_found']);
        }
      }
    });
  });

  describe('people', () => {
    it('creates, reads, lists, patches and deletes a person with cards', async () => {
      const created = await t.request('POST', '/api/v1/people', {
        json: { employeeNo: 'E1001', name: 'Ada', cards: ['C100', 'C101'], validFrom: '2025-01-01T00:00:00Z', validTo: '2026-01-01T00:00:00+01:00' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ employeeNo: 'E1001', name: 'Ada', userType: 'normal', cards: ['C100', 'C101'], validFrom: '2025-01-01T00:00:00.000Z', validTo: '2025-12-31T23:00:00.000Z', faceSha256: null });

      const fetched = await t.request('GET', '/api/v1/people/E1001');
      expect(fetched.body).toMatchObject({ employeeNo: 'E1001', devices: [] });

      const patched = await t.request('PATCH', '/api/v1/people/E1001', { json: { name: 'Ada L.', cards: ['C101', 'C102'], validTo: null } });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ name: 'Ada L.', cards: ['C101', 'C102'], validTo: null, jobs: 0 });

      expect((await t.request('DELETE', '/api/v1/people/E1001')).body).toEqual({ employeeNo: 'E1001', jobs: 0 });
      expect((await t.request('GET', '/api/v1/people/E1001')).status).toBe(404);
    });

    it('refuses a duplicate employeeNo and a card someone else holds with 409', async () => {
      await t.request('POST', '/api/v1/people', { json: { employeeNo: 'E2001', name: 'Bob', cards: ['C200'] } });
      const samePerson = await t.request('POST', '/api/v1/people', { json: { employeeNo: 'E2001', name: 'Bob again' } });
      expect([samePerson.status, samePerson.body.error]).toEqual([409, 'conflict']);
      const sameCard = await t.request('POST', '/api/v1/people', { json: { employeeNo: 'E2002', name: 'Carol', cards: ['C200'] } });
      expect(sameCard.status).toBe(409);
      expect((await t.request('GET', '/api/v1/people/E2002')).status).toBe(404);
      await t.request('POST', '/api/v1/people', { json: { employeeNo: 'E2003', name: 'Dan' } });
      const patchSteal = await t.request('PATCH', '/api/v1/people/E2003', { json: { cards: ['C200'] } });
      expect(patchSteal.status).toBe(409);
      expect((await t.request('GET', '/api/v1/people/E2001')).body.cards).toEqual(['C200']);
    });

    it('names bad fields: identifiers, dates, order of dates, repeated cards', async () => {
      const response = await t.request('POST', '/api/v1/people', {
        json: { employeeNo: 'E-1', name: 'X', cards: ['ok1', 'bad card'], validFrom: '2025-01-01', userType: 'boss' },
      });
      expect(response.status).toBe(400);
      const byPath = Object.fromEntries(response.body.issues.map((issue: { path: string; message: string }) => [issue.path, issue.message]));
      expect(byPath['employeeNo']).toBe('expected 1–32 letters or digits');
      expect(byPath['cards[1]']).toBe('expected 1–32 letters or digits');
      expect(byPath['validFrom']).toMatch(/ISO 8601/);
      expect(Object.keys(byPath)).toContain('userType');

      const order = await t.request('POST', '/api/v1/people', { json: { employeeNo: 'E3001', name: 'X', validFrom: '2025-02-01T00:00:00Z', validTo: '2025-01-01T00:00:00Z' } });
      expect(order.body.issues).toEqual([{ path: 'validTo', message: 'validTo must be after validFrom' }]);
      const twice = await t.request('POST', '/api/v1/people', { json: { employeeNo: 'E3001', name: 'X', cards: ['C1', 'C1'] } });
      expect(twice.body.issues).toEqual([{ path: 'cards', message: 'a card is listed twice' }]);

      // A PATCH is checked against the stored dates too.
      await t.request('POST', '/api/v1/people', { json: { employeeNo: 'E3002', name: 'Y', validFrom: '2025-02-01T00:00:00Z' } });
      const patch = await t.request('PATCH', '/api/v1/people/E3002', { json: { validTo: '2025-01-01T00:00:00Z' } });
      expect([patch.status, patch.body.issues?.[0]?.path]).toEqual([400, 'validTo']);
    });

    it('pages through people with after and limit', async () => {
      for (const no of ['P01', 'P02', 'P03']) await t.request('POST', '/api/v1/people', { json: { employeeNo: no, name: no } });
      const first = await t.request('GET', '/api/v1/people?limit=2&after=P');
      expect(first.body.people.map((person: { employeeNo: string }) => person.employeeNo)).toEqual(['P01', 'P02']);
      expect(first.body.nextAfter).toBe('P02');
      const second = await t.request('GET', `/api/v1/people?limit=2&after=${first.body.nextAfter}`);
      expect(second.body.people.map((person: { employeeNo: string }) => person.employeeNo)).toEqual(['P03']);
      expect(second.body.nextAfter).toBeNull();
      const bad = await t.request('GET', '/api/v1/people?limit=0');
      expect([bad.status, bad.body.issues[0].path]).toEqual([400, 'limit']);
    });

    it('answers 404 for unknown and malformed employeeNos', async () => {
      for (const no of ['NOBODY', 'not-valid!', 'x'.repeat(40)]) {
        for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['GET', '/face'], ['DELETE', '/face']] as const) {
          const response = await t.request(method, `/api/v1/people/${encodeURIComponent(no)}${suffix}`, method === 'PATCH' ? { json: { name: 'x' } } : {});
          expect([`${method} ${suffix}`, response.status]).toEqual([`${method} ${suffix}`, 404]);
        }
      }
      expect((await t.request('PUT', '/api/v1/people/NOBODY/face', { body: await face(), contentType: 'image/jpeg' })).status).toBe(404);
    });
  });

  describe('faces', () => {
    beforeAll(async () => {
      await t.request('POST', '/api/v1/people', { json: { employeeNo: 'F1', name: 'Face owner' } });
    });

    it('stores a JPEG, serves it back byte for byte, and removes it', async () => {
      const jpeg = await face();
      const stored = await t.request('PUT', '/api/v1/people/F1/face', { body: jpeg, contentType: 'image/jpeg' });
      expect(stored.status).toBe(200);
      expect(stored.body).toMatchObject({ employeeNo: 'F1', bytes: jpeg.length, jobs: 0 });
      expect(stored.body.faceSha256).toMatch(/^[0-9a-f]{64}$/);

      const served = await t.request('GET', '/api/v1/people/F1/face');
      expect(served.headers.get('content-type')).toBe('image/jpeg');
      expect(served.bytes.equals(jpeg)).toBe(true);
      expect((await t.request('GET', '/api/v1/people/F1')).body.faceSha256).toBe(stored.body.faceSha256);

      expect((await t.request('DELETE', '/api/v1/people/F1/face')).status).toBe(200);
      const gone = await t.request('GET', '/api/v1/people/F1/face');
      expect([gone.status, gone.body.message]).toEqual([404, 'person F1 has no face photo']);
    });

    it('refuses a photo over 200 KiB with 413 and says what to do', async () => {
      const response = await t.request('PUT', '/api/v1/people/F1/face', { body: await oversizeFace(), contentType: 'image/jpeg' });
      expect(response.status).toBe(413);
      expect(response.body.message).toMatch(/204800 bytes/);
      expect(response.body.message).toMatch(/re-encode/);
    });

    it('refuses something that is not a JPEG', async () => {
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
      const wrongBytes = await t.request('PUT', '/api/v1/people/F1/face', { body: png, contentType: 'image/jpeg' });
      expect([wrongBytes.status, wrongBytes.body.message]).toEqual([400, 'not a JPEG: the data does not start with the JPEG marker FF D8 FF']);
      const truncated = await t.request('PUT', '/api/v1/people/F1/face', { body: (await face()).subarray(0, 1000), contentType: 'image/jpeg' });
      expect([truncated.status, truncated.body.message]).toEqual([400, 'truncated JPEG: no end-of-image marker (FF D9)']);
      const wrongType = await t.request('PUT', '/api/v1/people/F1/face', { body: await face(), contentType: 'image/png' });
      expect([wrongType.status, wrongType.body.error]).toEqual([415, 'unsupported_media_type']);
      expect(wrongType.body.message).toContain('image/jpeg');
    });
  });

  describe('errors and metrics', () => {
    it('answers unknown routes with a JSON 404', async () => {
      const response = await t.request('GET', '/api/v1/devicez');
      expect(response.body).toEqual({ error: 'not_found', message: 'no route GET /api/v1/devicez' });
      expect(response.headers.get('x-request-id')).toBeTruthy();
    });

    it('counts requests by route template, never by id', async () => {
      await t.request('GET', '/api/v1/devices/0190a5f0-0000-7000-8000-000000000001');
      const text = await t.metrics();
      expect(text).toMatch(/hikhub_api_requests_total\{method="GET",route="\/api\/v1\/devices\/:id",status_class="4xx",service="api"\} \d+/);
      expect(text).toMatch(/hikhub_api_requests_total\{method="POST",route="\/api\/v1\/devices",status_class="2xx",service="api"\} \d+/);
      expect(text).toMatch(/hikhub_api_requests_total\{method="GET",route="unauthenticated",status_class="4xx",service="api"\} \d+/);
      expect(text).toContain('hikhub_api_request_duration_seconds_bucket');
      expect(text).not.toContain('0190a5f0-0000-7000-8000-000000000001');
    });

    it('answers an unexpected failure with 500 and a request id that is in the log', async () => {
      // A real fault: the table the handler reads is gone for a moment.
      await sql`alter table people rename to people_away`.execute(t.db);
      let response;
      try {
        response = await t.request('GET', '/api/v1/people');
      } finally {
        await sql`alter table people_away rename to people`.execute(t.db);
      }
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ error: 'internal_error', message: expect.any(String), requestId: response.headers.get('x-request-id') });
      expect(response.text).not.toContain('people_away');
      const logged = t.logLines.find((line) => line.includes(response.body.requestId));
      expect(logged).toContain('"route":"/api/v1/people"');
    });

    it('never logged the admin token or a device password', () => {
      const log = t.logLines.join('\n');
      expect(log).toContain('"msg":"request"');
      expect(log).not.toContain(ADMIN_TOKEN);
      expect(log).not.toContain(DEVICE_PASSWORD);
    });
  });
});
