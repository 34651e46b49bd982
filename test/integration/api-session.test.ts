import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionSigner, SESSION_LIFETIME_SECONDS } from '../../services/api/session.js';
import { startTestApi, type TestApi } from '../helpers/api.js';

const ADMIN_TOKEN = 'session-admin-token-0123456789abcdef';

/** The console's cookie session beside the Bearer token: sign-in, CSRF header rule, expiry, token rotation. */
describe('admin API: console session', () => {
  let t: TestApi;
  const base = () => `http://127.0.0.1:${t.api.port}`;
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => fetch(`${base()}${path}`, { method, headers, body });
  const signIn = async (token: string, headers: Record<string, string> = {}) =>
    call('POST', '/api/v1/session', { 'content-type': 'application/json', ...headers }, JSON.stringify({ token }));
  const cookieOf = (response: Response) => /^hikhub_session=([^;]*)/.exec(response.headers.get('set-cookie') ?? '')?.[1];

  beforeAll(async () => {
    t = await startTestApi('api-session', { ADMIN_TOKEN, TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('signs in with the admin token: 204 and an HttpOnly, SameSite=Strict cookie for 12 hours', async () => {
    const response = await signIn(ADMIN_TOKEN);
    expect(response.status).toBe(204);
    const setCookie = response.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^hikhub_session=v1\.\d+\.[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/);
    expect(setCookie).not.toContain('Secure');
    const expires = Number(cookieOf(response)!.split('.')[1]);
    expect(Math.abs(expires - (Date.now() / 1000 + SESSION_LIFETIME_SECONDS))).toBeLessThan(60);
  });

  it('marks the cookie Secure when a trusted proxy says the client used https', async () => {
    const response = await signIn(ADMIN_TOKEN, { 'x-forwarded-proto': 'https' });
    expect(response.headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('refuses a wrong token with 401, never echoing it', async () => {
    for (const token of ['wrong', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.toUpperCase()]) {
      const response = await signIn(token);
      expect(response.status).toBe(401);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(await response.text()).not.toContain(token);
    }
    expect((await signIn('')).status).toBe(400);
  });

  it('lets the cookie read (GET), and answers GET /session with the expiry', async () => {
    const cookie = cookieOf(await signIn(ADMIN_TOKEN))!;
    const devices = await call('GET', '/api/v1/devices', { cookie: `other=1; hikhub_session=${cookie}` });
    expect(devices.status).toBe(200);
    const session = await call('GET', '/api/v1/session', { cookie: `hikhub_session=${cookie}` });
    expect(session.status).toBe(200);
    const body = (await session.json()) as { authenticated: boolean; expiresAt: string };
    expect(body.authenticated).toBe(true);
    expect(new Date(body.expiresAt).getTime()).toBe(Number(cookie.split('.')[1]) * 1000);
    expect((await call('GET', '/api/v1/session')).status).toBe(401);
  });

  it('refuses a cookie change without X-Hikhub-Console: 1 (403) and accepts it with the header; Bearer needs no header', async () => {
    const cookie = cookieOf(await signIn(ADMIN_TOKEN))!;
    const person = JSON.stringify({ employeeNo: 'S1', name: 'Session Person' });
    const withoutHeader = await call('POST', '/api/v1/people', { cookie: `hikhub_session=${cookie}`, 'content-type': 'application/json' }, person);
    expect(withoutHeader.status).toBe(403);
    expect(await withoutHeader.json()).toMatchObject({ error: 'forbidden' });
    expect((await t.request('GET', '/api/v1/people/S1')).status).toBe(404);

    const withHeader = await call('POST', '/api/v1/people', { cookie: `hikhub_session=${cookie}`, 'content-type': 'application/json', 'x-hikhub-console': '1' }, person);
    expect(withHeader.status).toBe(201);
    expect((await t.request('POST', '/api/v1/people', { json: { employeeNo: 'S2', name: 'Bearer Person' } })).status).toBe(201);
  });

  it('refuses an expired, forged or foreign-key cookie with 401', async () => {
    const signer = new SessionSigner(ADMIN_TOKEN);
    const expired = signer.issue(Date.now() - (SESSION_LIFETIME_SECONDS + 60) * 1000).value;
    const valid = signer.issue().value;
    const [prefix, expires] = valid.split('.');
    const extended = `${prefix}.${Number(expires) + 3600}.${valid.split('.')[2]}`;
    const otherKey = new SessionSigner('another-admin-token-0123456789abcdef').issue().value;
    for (const cookie of [expired, extended, otherKey, 'v1.99999999999.AAAA', 'garbage']) {
      const response = await call('GET', '/api/v1/devices', { cookie: `hikhub_session=${cookie}` });
      expect([cookie, response.status]).toEqual([cookie, 401]);
    }
    expect((await call('GET', '/api/v1/devices', { cookie: `hikhub_session=${valid}` })).status).toBe(200);
  });

  it('signs out: DELETE clears the cookie (with the console header)', async () => {
    const cookie = cookieOf(await signIn(ADMIN_TOKEN))!;
    expect((await call('DELETE', '/api/v1/session', { cookie: `hikhub_session=${cookie}` })).status).toBe(403);
    const response = await call('DELETE', '/api/v1/session', { cookie: `hikhub_session=${cookie}`, 'x-hikhub-console': '1' });
    expect(response.status).toBe(204);
    expect(response.headers.get('set-cookie')).toMatch(/^hikhub_session=; .*Max-Age=0/);
  });
});

describe('admin API: a changed admin token signs every console out', () => {
  it('rejects a cookie signed under the previous token', async () => {
    const first = await startTestApi('api-session-rotate', { ADMIN_TOKEN });
    let cookie: string;
    try {
      const response = await fetch(`http://127.0.0.1:${first.api.port}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: ADMIN_TOKEN }) });
      cookie = /^hikhub_session=([^;]*)/.exec(response.headers.get('set-cookie') ?? '')![1]!;
      expect((await fetch(`http://127.0.0.1:${first.api.port}/api/v1/devices`, { headers: { cookie: `hikhub_session=${cookie}` } })).status).toBe(200);
    } finally {
      await first.close();
    }
    const rotated = await startTestApi('api-session-rotate2', { ADMIN_TOKEN: 'the-new-admin-token-0123456789abcdef' });
    try {
      expect((await fetch(`http://127.0.0.1:${rotated.api.port}/api/v1/devices`, { headers: { cookie: `hikhub_session=${cookie}` } })).status).toBe(401);
    } finally {
      await rotated.close();
    }
  });
});
