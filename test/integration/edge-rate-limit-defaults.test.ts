import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPathToken, EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { pushEvents } from '../../tools/simulator/event-pusher.js';
import { startTestIngest } from '../helpers/ingest.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';

/**
 * The default rate limits must never cut real device behaviour. Worst case on one source
 * address (a site behind one NAT): an NVR with 32 channels sending heartbeats twice a second
 * per channel, while a face terminal uploads a backlog of 1,000 events after a reconnect as fast
 * as the server answers — both authenticated by path token, so the per-device limits apply too.
 */
describe('default rate limits and real devices', () => {
  const { prefix, cleanup } = createTestPrefix('edge-defaults');
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let redis: Redis;
  const tokens = { nvr: createPathToken(), terminal: createPathToken() };

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
    const store = new EdgeCredentialStore(redis, prefix);
    await store.setPathToken(tokens.nvr, 'nvr-32ch');
    await store.setPathToken(tokens.terminal, 'face-terminal');
    // Only the authentication mode is set; every limit keeps its default.
    ingest = await startTestIngest({ QUEUE_PREFIX: prefix, INGEST_AUTH: 'token' });
  });

  afterAll(async () => {
    await ingest?.stop();
    redis?.disconnect();
    await cleanup();
  });

  it('lets an NVR’s heartbeats and a face terminal’s backlog through without one 429', async () => {
    const url = `http://127.0.0.1:${ingest.port}/hikvision/events`;
    const [nvr, terminal] = await Promise.all([
      // 32 channels of one NVR (one device, one token), 64 notifications per second for 3 s.
      pushEvents({ url, devices: 32, ratePerSecond: 64, durationMs: 3_000, pathForDevice: () => `/${tokens.nvr}`, concurrency: 32, idPrefix: 'nvr' }),
      // The terminal's backlog, one request after the other as fast as answered.
      pushEvents({ url, devices: 1, ratePerSecond: 100_000, count: 1_000, pathForDevice: () => `/${tokens.terminal}`, concurrency: 1, idPrefix: 'terminal' }),
    ]);
    expect(nvr.statusCounts[429] ?? 0).toBe(0);
    expect(terminal.statusCounts[429] ?? 0).toBe(0);
    expect(nvr.accepted).toBe(nvr.sent);
    expect(terminal.accepted).toBe(1_000);
    expect(nvr.sent).toBeGreaterThanOrEqual(150);
  });
});
