import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Input that passes the first checks but that Postgres would refuse (NUL bytes, an impossible
 * timestamp inside a cursor): each must be a 400 or 404 naming the problem, never a 500.
 */
describe('admin API review: hostile input is a client error, never a 500', () => {
  let t: TestApi;

  beforeAll(async () => {
    t = await startTestApi('api-review-input');
  });

  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['name', 'name=ab%00cd'],
    ['employeeNo', 'employeeNo=%00'],
    ['eventType', 'eventType=Access%00'],
    ['plate', 'plate=AB%00'],
  ])('refuses a NUL byte in %s with 400', async (parameter, query) => {
    for (const path of ['/api/v1/events', '/api/v1/events/export.csv']) {
      const response = await t.request('GET', `${path}?${query}`);
      expect(response.status, `${path}?${query}`).toBe(400);
      expect(response.body.message).toContain(parameter);
    }
  });

  it('refuses a NUL byte in the stream filters with 400 (a filter that could never match)', async () => {
    const response = await t.request('GET', '/api/v1/events/stream?name=ab%00cd');
    expect(response.status).toBe(400);
    expect(response.body.message).toContain('name');
  });

  it.each([
    ['an impossible time', '2024-13-45T99:99:99.000000Z'],
    ['a day the month lacks', '2023-02-29T00:00:00.000000Z'],
    ['year zero', '0000-01-01T00:00:00.000000Z'],
  ])('answers a cursor holding %s with 400, on events and quarantine', async (_what, key) => {
    const tampered = cursorOf([key, '0193a1c2-0000-7000-8000-000000000000']);
    for (const path of ['/api/v1/events', '/api/v1/quarantine']) {
      const response = await t.request('GET', `${path}?cursor=${tampered}`);
      expect(response.status, path).toBe(400);
      expect(response.body.message).toContain('cursor');
    }
  });

  it('still accepts a cursor on a leap day', async () => {
    const leapDay = cursorOf(['2024-02-29T23:59:59.999999Z', '0193a1c2-0000-7000-8000-000000000000']);
    for (const path of ['/api/v1/events', '/api/v1/quarantine']) {
      expect((await t.request('GET', `${path}?cursor=${leapDay}`)).status, path).toBe(200);
    }
  });

  it('refuses a NUL byte in a stored text (a person name) with 400, not 500', async () => {
    const response = await t.request('POST', '/api/v1/people', { json: { employeeNo: '4711', name: 'Ada\u0000Lovelace' } });
    expect(response.status).toBe(400);
  });

  it('answers a picture path with a NUL byte or broken percent-encoding with 404, not 500', async () => {
    for (const path of ['/faces/pictures/2024/01/01/x%00.jpg', '/faces/pictures/%E0%A4%A.jpg', '/faces/%00']) {
      const response = await t.request('GET', path);
      expect([400, 404], path).toContain(response.status);
    }
  });

  it('answers ids with broken percent-encoding as client errors', async () => {
    for (const path of ['/api/v1/events/%E0%A4%A', '/api/v1/quarantine/%E0%A4%A/body', '/api/v1/people/%00/face']) {
      const response = await t.request('GET', path);
      expect([400, 404], path).toContain(response.status);
    }
  });
});
