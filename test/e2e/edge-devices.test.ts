import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPathToken, EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { pushEvents } from '../../tools/simulator/event-pusher.js';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { startTestIngest } from '../helpers/ingest.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The "done when": with authentication on, a forged event is refused and counted, while
 * simulated devices with the right credentials (Digest, or a path token each) get every event archived.
 */

const SHARED = { username: 'site-devices', password: 'site-devices-pass' };
const FORGED = '<EventNotificationAlert><macAddress>00:11:22:33:44:55</macAddress><eventType>AccessControllerEvent</eventType><eventState>active</eventState><dateTime>2026-11-27T08:02:00+01:00</dateTime></EventNotificationAlert>';

describe('devices through an authenticated edge, end to end', () => {
  let world: Awaited<ReturnType<typeof createTestWorld>>;
  let archiver: Awaited<ReturnType<typeof startTestArchiver>>;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let redis: Redis;

  beforeAll(async () => {
    world = await createTestWorld('edge-devices');
    archiver = await startTestArchiver(world.env);
    ingest = await startTestIngest({
      QUEUE_PREFIX: world.prefix,
      INGEST_AUTH: 'digest,token',
      INGEST_NONCE_SECRET: 'edge-devices-nonce-secret-0123456789abcdef',
      INGEST_DIGEST_USERNAME: SHARED.username,
      INGEST_DIGEST_PASSWORD: SHARED.password,
    });
    redis = new Redis(TEST_REDIS_URL);
  }, 60_000);

  afterAll(async () => {
    await ingest?.stop();
    await archiver?.stop();
    redis?.disconnect();
    await world?.teardown();
  });

  const eventRows = async () => Number((await world.db.selectFrom('events').select(world.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  const authFailures = async (reason: string) => {
    const text = await (await fetch(`http://127.0.0.1:${ingest.metricsPort}/metrics`)).text();
    return Number(new RegExp(`hikhub_ingest_auth_failures_total\\{reason="${reason}",service="ingest"\\} (\\d+)`).exec(text)?.[1]);
  };

  it('refuses a forged event and archives every event of Digest and token devices', async () => {
    const missing = await authFailures('missing');
    expect((await sendRaw(ingest.port, buildPost('/hikvision/events', FORGED, { 'Content-Type': 'application/xml' })))?.status).toBe(401);
    expect(await authFailures('missing')).toBe(missing + 1);

    const digest = await pushEvents({ url: `http://127.0.0.1:${ingest.port}/hikvision/events`, devices: 4, ratePerSecond: 200, count: 40, pictureEvery: 4, digest: SHARED, concurrency: 4 });
    expect(digest.statusCounts).toEqual({ 200: 40 });
    // One challenge per device connection lane, then the nonce is reused with nc + 1.
    expect(digest.digestChallenges).toBeGreaterThan(0);
    expect(digest.digestChallenges).toBeLessThan(40);

    const store = new EdgeCredentialStore(redis, world.prefix);
    const tokens = Array.from({ length: 3 }, () => createPathToken());
    for (const [index, token] of tokens.entries()) await store.setPathToken(token, `terminal-${index}`);
    const byToken = await pushEvents({ url: `http://127.0.0.1:${ingest.port}/hikvision/events`, devices: 3, ratePerSecond: 200, count: 30, pathForDevice: (index) => tokens[index]!, concurrency: 3 });
    expect(byToken.statusCounts).toEqual({ 200: 30 });

    const wrong = await pushEvents({ url: `http://127.0.0.1:${ingest.port}/hikvision/events`, devices: 1, ratePerSecond: 200, count: 5, digest: { ...SHARED, password: 'guessed-password' } });
    expect(wrong.statusCounts).toEqual({ 401: 5 });

    await waitFor(async () => (await eventRows()) >= 70 && (await world.queue.getJobCounts('waiting', 'active')).waiting === 0, 60_000, 'every accepted event to be archived');
    expect(await eventRows()).toBe(70);
    const forged = await world.db.selectFrom('events').select('id').where('mac_address', '=', '00:11:22:33:44:55').execute();
    expect(forged).toEqual([]);
    const paths = await world.db.selectFrom('events').select('source_path').distinct().execute();
    expect(paths.map((row) => row.source_path).sort()).toEqual(['/hikvision/events', '/hikvision/events/:token']);
  }, 120_000);
});
