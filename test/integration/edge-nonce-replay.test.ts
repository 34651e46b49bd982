import http from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDigestAuthorization, parseDigestChallenge, type DigestChallenge } from '../../libs/digest/digest.js';
import { NonceIssuer } from '../../libs/edge-auth/nonce.js';
import { NonceReplayGuard, parseNonceCount } from '../../libs/edge-auth/nonce-replay-guard.js';
import { startTestIngest } from '../helpers/ingest.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { PrivateRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'edge-nonce-replay-test-secret-0123456789abcdef';
const CREDENTIALS = { username: 'hik-devices', password: 'shared-pass-123' };
const PATH = '/hikvision/events';
const XML = '<EventNotificationAlert><macAddress>ac:b9:2f:49:44:75</macAddress><eventType>VMD</eventType><eventState>active</eventState></EventNotificationAlert>';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

function post(port: number, authorization?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(XML) };
    if (authorization) headers.authorization = authorization;
    const req = http.request({ host: '127.0.0.1', port, path: PATH, method: 'POST', agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(XML);
  });
}

const answer = (challenge: DigestChallenge, nc: number) => createDigestAuthorization(challenge, CREDENTIALS, { method: 'POST', uri: PATH, nc, cnonce: '0a4f113b0a4f113b' });

async function challengeFrom(port: number): Promise<DigestChallenge> {
  const first = await post(port);
  expect(first.status).toBe(401);
  return parseDigestChallenge(first.headers['www-authenticate'])!;
}

const isStale = (refused: Answer) => parseDigestChallenge(refused.headers['www-authenticate'])?.stale === true;

const digestEnv = (prefix: string, redisUrl = TEST_REDIS_URL) => ({
  REDIS_URL: redisUrl,
  QUEUE_PREFIX: prefix,
  INGEST_AUTH: 'digest',
  INGEST_NONCE_SECRET: SECRET,
  INGEST_DIGEST_USERNAME: CREDENTIALS.username,
  INGEST_DIGEST_PASSWORD: CREDENTIALS.password,
  INGEST_RATE_PER_ADDRESS: '0',
});

describe('Digest nonce counts are taken once, by any replica, until the nonce expires', () => {
  const { prefix, cleanup } = createTestPrefix('edge-nonce-replay');
  let redis: Redis;
  let replicaA: Awaited<ReturnType<typeof startTestIngest>>;
  let replicaB: Awaited<ReturnType<typeof startTestIngest>>;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
    // Two ingest replicas on the same Redis prefix and nonce secret, as behind a load balancer.
    replicaA = await startTestIngest(digestEnv(prefix));
    replicaB = await startTestIngest(digestEnv(prefix));
  });

  afterAll(async () => {
    await replicaA?.stop();
    await replicaB?.stop();
    redis?.disconnect();
    await cleanup();
  });

  it('refuses on a second replica a request the first one accepted (stale=true), and takes the next count on either', async () => {
    const challenge = await challengeFrom(replicaA.port);
    const first = answer(challenge, 1);
    expect((await post(replicaA.port, first)).status).toBe(200);
    const replayed = await post(replicaB.port, first);
    expect(replayed.status).toBe(401);
    expect(isStale(replayed)).toBe(true);
    expect((await post(replicaA.port, first)).status).toBe(401);
    expect((await post(replicaB.port, answer(challenge, 2))).status).toBe(200);
    expect((await post(replicaA.port, answer(challenge, 3))).status).toBe(200);
  });

  it('accepts counts out of order within the window, each once', async () => {
    const challenge = await challengeFrom(replicaB.port);
    for (const nc of [5, 3, 4, 1, 2]) expect((await post(nc % 2 ? replicaA.port : replicaB.port, answer(challenge, nc))).status, `nc ${nc}`).toBe(200);
    for (const nc of [1, 3, 5]) expect((await post(replicaB.port, answer(challenge, nc))).status, `nc ${nc} again`).toBe(401);
  });

  it('still refuses a used nonce count after 60,000 other nonces were used', async () => {
    const challenge = await challengeFrom(replicaA.port);
    const used = answer(challenge, 1);
    expect((await post(replicaA.port, used)).status).toBe(200);
    // What a busy fleet does in between (the old per-process guard forgot past 50,000 nonces):
    // the same guard the ingest uses, on the same prefix, in pipelined batches.
    const issuer = new NonceIssuer(SECRET, 300_000);
    const guard = new NonceReplayGuard(redis, prefix);
    for (let batch = 0; batch < 60; batch++) {
      const results = await Promise.all(
        Array.from({ length: 1_000 }, () => {
          const nonce = issuer.issue();
          return guard.firstUse(nonce, issuer.issuedAt(nonce)!, 1, 60_000);
        }),
      );
      expect(results.every(Boolean)).toBe(true);
    }
    const replayed = await post(replicaB.port, used);
    expect(replayed.status).toBe(401);
    expect(isStale(replayed)).toBe(true);
    expect((await post(replicaA.port, used)).status).toBe(401);
  });
});

describe('the replay guard itself', () => {
  const { prefix, cleanup } = createTestPrefix('nonce-replay-guard');
  let redis: Redis;
  let guard: NonceReplayGuard;
  const issuer = new NonceIssuer(SECRET, 300_000);
  /** A fresh genuine nonce and a way to present its counts. */
  const useOf = () => {
    const nonce = issuer.issue();
    return (nc: number, rememberMs = 60_000) => guard.firstUse(nonce, issuer.issuedAt(nonce)!, nc, rememberMs);
  };

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
    guard = new NonceReplayGuard(redis, prefix, 8);
  });

  afterAll(async () => {
    redis?.disconnect();
    await cleanup();
  });

  it('remembers a nonce as long as it may be taken, then frees it', async () => {
    const use = useOf();
    const before = Date.now();
    expect(await use(1, 400)).toBe(true);
    const after = Date.now();
    const [key, ...others] = await redis.keys(`${prefix}:edge:*`);
    expect(others).toEqual([]);
    // Until it can no longer be taken, plus up to a second for the newest nonce issued in the same second (Redis shares this clock).
    const expiresAt = Number(await redis.call('PEXPIRETIME', key!));
    expect(expiresAt).toBeGreaterThanOrEqual(before + 1_400);
    expect(expiresAt).toBeLessThanOrEqual(after + 1_400);
    expect(await use(1, 400)).toBe(false);
    await waitFor(async () => (await redis.exists(key!)) === 0, 5_000, 'the nonce state to expire');
    // Gone from Redis: nothing is kept for a nonce nobody can take any more (the edge answers stale_nonce first).
    expect(await use(1, 400)).toBe(true);
  });

  it('a nonce issued by the ingest is remembered for its lifetime plus the replicas clock skew, never less', () => {
    const now = Date.now();
    const clock = { now };
    const timed = new NonceIssuer(SECRET, 300_000, () => clock.now);
    const nonce = timed.issue();
    expect(timed.issuedAt(nonce)).toBe(now);
    expect(timed.remainingMs(nonce)).toBe(360_000);
    clock.now = now + 100_000;
    expect(timed.remainingMs(nonce)).toBe(260_000);
    expect(timed.remainingMs('not-a-nonce')).toBe(0);
  });

  it('takes counts out of order, each once, and gives up the oldest skipped ones (refused, never forgotten) past the bound', async () => {
    const use = useOf();
    for (const nc of [5, 3]) expect(await use(nc), `nc ${nc}`).toBe(true);
    expect(await use(3)).toBe(false);
    for (const nc of [1, 2, 4]) expect(await use(nc), `nc ${nc}`).toBe(true);
    for (let nc = 1; nc <= 5; nc++) expect(await use(nc), `nc ${nc} again`).toBe(false);
    // A jump leaves 94 counts unused; the newest 8 (the bound here) may still come, the others are given up.
    expect(await use(100)).toBe(true);
    for (let nc = 6; nc <= 91; nc++) expect(await use(nc), `nc ${nc} given up`).toBe(false);
    for (let nc = 92; nc <= 99; nc++) expect(await use(nc), `nc ${nc} still open`).toBe(true);
    for (let nc = 92; nc <= 100; nc++) expect(await use(nc), `nc ${nc} used`).toBe(false);
    expect(await use(0xffff_ffff)).toBe(true);
    expect(await use(0xffff_ffff)).toBe(false);
    expect(await use(0xffff_fffe)).toBe(true);
    // Memory per nonce stays bounded: the highest count and at most 8 open counts.
    const keys = await redis.keys(`${prefix}:edge:*`);
    const states = (await Promise.all(keys.map((key) => redis.hgetall(key)))).flatMap((hash) => Object.values(hash));
    expect(states.some((state) => state.startsWith('4294967295:'))).toBe(true);
    for (const state of states) expect(state.split(/[:,]/).length).toBeLessThanOrEqual(1 + 8);
  });

  it('refuses counts that are not counts', async () => {
    const use = useOf();
    for (const nc of [0, -1, 1.5, 2 ** 32]) expect(await use(nc)).toBe(false);
    expect(['00000001', '1', 'ffffffff', 'FFFFFFFF'].map(parseNonceCount)).toEqual([1, 1, 0xffff_ffff, 0xffff_ffff]);
    for (const text of [undefined, '', '00000000', '100000000', '-1', '1.5', 'xyz']) expect(parseNonceCount(text), String(text)).toBeNull();
  });
});

describe('without Redis the replay guard fails closed', () => {
  const { prefix } = createTestPrefix('nonce-replay-outage');
  let privateRedis: PrivateRedis;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;

  beforeAll(async () => {
    privateRedis = await PrivateRedis.start();
    ingest = await startTestIngest(digestEnv(prefix, privateRedis.url));
  });

  afterAll(async () => {
    privateRedis?.thaw();
    await ingest?.stop();
    await privateRedis?.stop();
  });

  it('answers 503 (the device retries) rather than accept a count it cannot check, and 200 again once Redis is back', async () => {
    const challenge = await challengeFrom(ingest.port);
    privateRedis.freeze();
    try {
      const answered = await post(ingest.port, answer(challenge, 1));
      expect(answered.status).toBe(503);
    } finally {
      privateRedis.thaw();
    }
    // A fresh count per attempt: an attempt that timed out may still have been recorded.
    let nc = 1;
    await waitFor(async () => (await post(ingest.port, answer(challenge, ++nc))).status === 200, 10_000, 'the ingest to accept again');
  });

  it('answers 503 when Redis refuses to store more (maxmemory reached), never forgets to make room', async () => {
    const redis = new Redis(privateRedis.url);
    try {
      const guard = new NonceReplayGuard(redis, prefix);
      await redis.config('SET', 'maxmemory', '1');
      const issuer = new NonceIssuer(SECRET, 300_000);
      const nonce = issuer.issue();
      await expect(guard.firstUse(nonce, issuer.issuedAt(nonce)!, 1, 60_000)).rejects.toThrow(/OOM/);
      const challenge = await challengeFrom(ingest.port);
      expect((await post(ingest.port, answer(challenge, 1))).status).toBe(503);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
      redis.disconnect();
    }
  });
});
