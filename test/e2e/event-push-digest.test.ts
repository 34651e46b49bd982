import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushEvents } from '../../tools/simulator/event-pusher.js';
import { startSimulatedTerminal, type SimulatedTerminal } from '../../tools/simulator/terminal.js';
import { startSystem, type RunningSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Provisioning and the edge together: with ingest requiring Digest or a path token, hikhub
 * configures a terminal's event push (a slot of its own, a per-device path token and a
 * per-device Digest credential), and events the terminal then posts with exactly those settings
 * are archived — while the same posts with a wrong password are refused.
 */
describe('event push configured by hikhub, with per-device Digest', () => {
  let system: RunningSystem;
  let terminal: SimulatedTerminal;

  beforeAll(async () => {
    terminal = await startSimulatedTerminal();
    system = await startSystem('event_push_digest', {
      INGEST_AUTH: 'digest,token',
      INGEST_NONCE_SECRET: 'e2e-nonce-secret-0123456789abcdef0123456789',
      INGEST_CREDENTIAL_CACHE_MS: '0',
    });
  }, 60_000);

  afterAll(async () => {
    await system?.cleanup();
    await terminal?.close();
  });

  it('writes an MD5digest slot with its own credential, and the device’s events get in with it', async () => {
    const device = await system.expectStatus(201, 'POST', '/api/v1/devices', { json: { name: 'lobby', host: terminal.host, port: terminal.port, username: terminal.username, password: terminal.password } });
    const configured = await system.expectStatus(202, 'POST', `/api/v1/devices/${device.id}/configure-events`, {
      json: { url: `http://127.0.0.1:${system.ports.ingest}/hikvision/events/{token}`, authentication: 'digest' },
    });
    expect(configured.digestUsername).toMatch(/^hikhub-[0-9a-f]{12}-[0-9a-f]{4}$/);
    expect(JSON.stringify(configured)).not.toMatch(/password/i);
    await waitFor(async () => (await system.api('GET', `/api/v1/jobs/${configured.jobId}`)).body?.state === 'completed', 20_000, 'configure-events done');

    const slot = terminal.httpHosts().find((host) => host.httpAuthenticationMethod === 'MD5digest');
    expect(slot).toMatchObject({ ipAddress: '127.0.0.1', portNo: String(system.ports.ingest), userName: configured.digestUsername });
    expect(slot?.url).toMatch(/^\/hikvision\/events\/hkp_[A-Za-z0-9]{49}$/);
    const password = String(slot?.password ?? '');
    expect(password).toMatch(/^[A-Za-z0-9]{16}$/);

    // Digest alone gets the device in (a path without its token) ...
    const base = `http://127.0.0.1:${system.ports.ingest}/hikvision/events`;
    const byDigest = await pushEvents({ url: `${base}/lobby`, devices: 1, ratePerSecond: 1000, count: 20, digest: { username: configured.digestUsername, password }, idPrefix: 'lobby' });
    expect(byDigest.accepted).toBe(20);
    // ... so does the slot's path token alone ...
    const byToken = await pushEvents({ url: `http://127.0.0.1:${system.ports.ingest}${slot!.url}`, devices: 1, ratePerSecond: 1000, count: 5, idPrefix: 'lobby-token' });
    expect(byToken.accepted).toBe(5);
    // ... and a wrong password does not.
    const forged = await pushEvents({ url: `${base}/lobby`, devices: 1, ratePerSecond: 1000, count: 5, digest: { username: configured.digestUsername, password: 'not-the-password' }, idPrefix: 'forger' });
    expect(forged.accepted).toBe(0);
    expect(forged.statusCounts[401]).toBe(5);

    // Reconfiguring: what the device holds keeps working until it holds the new credentials.
    terminal.setLatency(1_500);
    const again = await system.expectStatus(202, 'POST', `/api/v1/devices/${device.id}/configure-events`, {
      json: { url: `http://127.0.0.1:${system.ports.ingest}/hikvision/events/{token}`, authentication: 'digest' },
    });
    expect(again.digestUsername).not.toBe(configured.digestUsername);
    const meanwhile = await pushEvents({ url: `${base}/lobby`, devices: 1, ratePerSecond: 1000, count: 3, digest: { username: configured.digestUsername, password }, idPrefix: 'meanwhile' });
    expect(meanwhile.accepted).toBe(3);
    await waitFor(async () => terminal.httpHosts().some((host) => host.userName === again.digestUsername), 30_000, 'new credentials on the device');
    await waitFor(async () => (await system.api('GET', `/api/v1/jobs/${again.jobId}`)).body?.state === 'completed', 30_000, 'second configure-events done');
    terminal.setLatency(0);
    const retired = await pushEvents({ url: `${base}/lobby`, devices: 1, ratePerSecond: 1000, count: 2, digest: { username: configured.digestUsername, password }, idPrefix: 'retired' });
    expect(retired.statusCounts[401]).toBe(2);
    const newSlot = terminal.httpHosts().find((host) => host.userName === again.digestUsername)!;
    expect(newSlot.id).toBe(slot!.id);
    const current = await pushEvents({ url: `${base}/lobby`, devices: 1, ratePerSecond: 1000, count: 2, digest: { username: again.digestUsername, password: String(newSlot.password) }, idPrefix: 'current' });
    expect(current.accepted).toBe(2);

    const client = new pg.Client({ connectionString: system.databaseUrl });
    await client.connect();
    try {
      await waitFor(async () => Number((await client.query("select count(*) from events where event_type = 'AccessControllerEvent'")).rows[0].count) === 30, 20_000, '30 events archived');
      // The path token itself is never archived.
      const paths = (await client.query('select distinct source_path from events order by 1')).rows.map((row) => row.source_path as string);
      expect(paths).toEqual(['/hikvision/events/:token', '/hikvision/events/lobby']);
    } finally {
      await client.end();
    }
  });
});
