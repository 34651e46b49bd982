import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../libs/config/env.js';
import { createDigestAuthorization, parseDigestChallenge } from '../../libs/digest/digest.js';
import { createPathToken, EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { NonceIssuer } from '../../libs/edge-auth/nonce.js';
import { secretsEqual } from '../../libs/edge-auth/secret-compare.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { REDACTED_PATHS } from '../../libs/logger/logger.js';
import { startTestIngest } from '../helpers/ingest.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const XML = '<EventNotificationAlert><macAddress>ac:b9:2f:49:44:75</macAddress><eventType>VMD</eventType><eventState>active</eventState></EventNotificationAlert>';
const SECRET = 'edge-auth-test-nonce-secret-0123456789abcdef';
const SHARED = { username: 'hik-devices', password: 'shared-pass-123' };
const PATH = '/hikvision/events';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One POST on a fresh connection, optionally from another loopback address (127.0.0.2 …). */
function post(port: number, path: string, options: { headers?: Record<string, string>; localAddress?: string; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body ?? XML;
    const req = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', agent: false, localAddress: options.localAddress, headers: { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...options.headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function metricValue(port: number, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? NaN);
}

describe('device authentication at the ingest edge', () => {
  const { prefix, cleanup } = createTestPrefix('edge-auth');
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let restricted: Awaited<ReturnType<typeof startTestIngest>>;
  let redis: Redis;
  let queue: Queue;
  let store: EdgeCredentialStore;

  beforeAll(async () => {
    ingest = await startTestIngest({
      QUEUE_PREFIX: prefix,
      INGEST_AUTH: 'digest,token',
      INGEST_NONCE_SECRET: SECRET,
      INGEST_DIGEST_USERNAME: SHARED.username,
      INGEST_DIGEST_PASSWORD: SHARED.password,
      INGEST_CREDENTIAL_CACHE_MS: '200',
    });
    restricted = await startTestIngest({ QUEUE_PREFIX: prefix, INGEST_ALLOWED_CIDRS: '127.0.0.2/32, 10.0.0.0/8', INGEST_ALLOWED_PATHS: '/hikvision/**,/ISAPI/*/alarm' });
    redis = new Redis(TEST_REDIS_URL);
    queue = new Queue(EVENTS_QUEUE, { connection: redis, prefix });
    store = new EdgeCredentialStore(redis, prefix, { cacheMs: 0 });
  });

  afterAll(async () => {
    await ingest?.stop();
    await restricted?.stop();
    await queue?.close();
    redis?.disconnect();
    await cleanup();
  });

  const queued = async () => (await queue.getJobCounts('waiting')).waiting ?? 0;
  const failures = (reason: string) => metricValue(ingest.metricsPort, new RegExp(`hikhub_ingest_auth_failures_total\\{reason="${reason}",service="ingest"\\} (\\d+)`));

  /** The Digest exchange a device makes: POST, 401 with a challenge, POST again with the answer. */
  async function digestAuthorization(credentials: { username: string; password: string }, nc = 1, uri = PATH) {
    const first = await post(ingest.port, PATH);
    expect(first.status).toBe(401);
    const challenge = parseDigestChallenge(first.headers['www-authenticate']);
    expect(challenge).not.toBeNull();
    return createDigestAuthorization(challenge!, credentials, { method: 'POST', uri, nc, cnonce: 'abcdef0123456789' });
  }

  it('refuses a forged event without credentials, with a Digest challenge, and counts it', async () => {
    const before = await queued();
    const missingBefore = await failures('missing');
    const answer = await post(ingest.port, PATH);
    expect(answer.status).toBe(401);
    const challenge = parseDigestChallenge(answer.headers['www-authenticate']);
    expect(challenge).toMatchObject({ realm: 'hikhub', qop: 'auth', stale: false });
    expect(await failures('missing')).toBe(missingBefore + 1);
    expect(await queued()).toBe(before);
  });

  it('accepts curl --digest with the shared credential and with a per-device credential from the store', async () => {
    await store.setDigestCredential('door-7', 'door-7-password', 'device-door-7');
    for (const [user, password] of [[SHARED.username, SHARED.password], ['door-7', 'door-7-password']] as const) {
      const before = await queued();
      const { stdout } = await run('/usr/bin/curl', [
        '-s', '-o', '/dev/null', '-w', '%{http_code}', '--digest', '-u', `${user}:${password}`,
        '-H', 'Content-Type: application/xml', '--data-binary', XML, `http://127.0.0.1:${ingest.port}${PATH}?channel=1`,
      ]);
      expect(stdout).toBe('200');
      expect(await queued()).toBe(before + 1);
    }
    const [job] = await queue.getJobs(['waiting'], 0, 0);
    expect(JSON.stringify(job!.data)).not.toMatch(/authorization|door-7-password/i);
  });

  it('refuses a wrong password and an unknown user alike, counted apart', async () => {
    const bad = await failures('bad_credentials');
    const unknown = await failures('unknown_user');
    const wrong = await post(ingest.port, PATH, { headers: { authorization: await digestAuthorization({ username: SHARED.username, password: 'not-the-password' }) } });
    expect(wrong.status).toBe(401);
    const nobody = await post(ingest.port, PATH, { headers: { authorization: await digestAuthorization({ username: 'nobody', password: 'whatever1' }) } });
    expect(nobody.status).toBe(401);
    expect(wrong.body).toBe(nobody.body);
    expect(await failures('bad_credentials')).toBe(bad + 1);
    expect(await failures('unknown_user')).toBe(unknown + 1);
  });

  it('takes a nonce count once: a replayed request is refused with stale=true', async () => {
    const authorization = await digestAuthorization(SHARED);
    expect((await post(ingest.port, PATH, { headers: { authorization } })).status).toBe(200);
    const replayed = await post(ingest.port, PATH, { headers: { authorization } });
    expect(replayed.status).toBe(401);
    expect(parseDigestChallenge(replayed.headers['www-authenticate'])?.stale).toBe(true);
    // The same nonce with the next count is the device's normal reuse.
    const nonce = /nonce="([^"]+)"/.exec(authorization)![1]!;
    const next = createDigestAuthorization({ realm: 'hikhub', nonce, qop: 'auth', stale: false }, SHARED, { method: 'POST', uri: PATH, nc: 2, cnonce: 'abcdef0123456789' });
    expect((await post(ingest.port, PATH, { headers: { authorization: next } })).status).toBe(200);
    // An answer without qop (RFC 2069) carries no nonce count to check: refused, even with the right password.
    const withoutQop = createDigestAuthorization({ realm: 'hikhub', nonce, stale: false }, SHARED, { method: 'POST', uri: PATH, nc: 3, cnonce: 'abcdef0123456789' });
    expect(withoutQop).not.toContain('qop=');
    expect((await post(ingest.port, PATH, { headers: { authorization: withoutQop } })).status).toBe(401);
  });

  it('answers an expired nonce with stale=true, a forged one with a fresh challenge, and binds the uri', async () => {
    const stale = await failures('stale_nonce');
    const oldIssuer = new NonceIssuer(SECRET, 300_000, () => Date.now() - 301_000);
    const expired = { realm: 'hikhub', nonce: oldIssuer.issue(), qop: 'auth', stale: false };
    const late = await post(ingest.port, PATH, { headers: { authorization: createDigestAuthorization(expired, SHARED, { method: 'POST', uri: PATH, nc: 1, cnonce: 'c1' }) } });
    expect(late.status).toBe(401);
    expect(parseDigestChallenge(late.headers['www-authenticate'])?.stale).toBe(true);
    expect(await failures('stale_nonce')).toBe(stale + 1);

    const forgedIssuer = new NonceIssuer('some-other-secret-that-is-long-enough-0000', 300_000);
    const forged = { realm: 'hikhub', nonce: forgedIssuer.issue(), qop: 'auth', stale: false };
    const badNonce = await failures('bad_nonce');
    const refused = await post(ingest.port, PATH, { headers: { authorization: createDigestAuthorization(forged, SHARED, { method: 'POST', uri: PATH, nc: 1, cnonce: 'c1' }) } });
    expect(refused.status).toBe(401);
    expect(parseDigestChallenge(refused.headers['www-authenticate'])?.stale).toBe(false);
    expect(await failures('bad_nonce')).toBe(badNonce + 1);

    const otherPath = await post(ingest.port, '/somewhere/else', { headers: { authorization: await digestAuthorization(SHARED) } });
    expect(otherPath.status).toBe(401);
  });

  it('never records a token, wherever the device puts it, even with authentication off', async () => {
    const open = await startTestIngest({ QUEUE_PREFIX: prefix });
    try {
      const token = createPathToken();
      const old = randomBytes(32).toString('base64url');
      const encoded = [...token].map((char) => `%${char.charCodeAt(0).toString(16)}`).join('');
      for (const [target, path, query] of [
        [`${PATH}/${token}`, `${PATH}/:token`, ''],
        [`${PATH}/${token}/`, `${PATH}/:token/`, ''],
        [`${PATH}/${token}.xml`, `${PATH}/:token.xml`, ''],
        [`/hikvision/${token}/events`, '/hikvision/:token/events', ''],
        [`${PATH}/${encoded}`, `${PATH}/:token`, ''],
        [`${PATH}?channel=1&token=${token}`, PATH, 'channel=1&token=:token'],
        [`${PATH}/${old}`, `${PATH}/:token`, ''],
        [`${PATH}/${old}.xml?token=${old}`, `${PATH}/:token.xml`, 'token=:token'],
      ] as const) {
        const accepted = await post(open.port, target);
        expect(accepted.status, target).toBe(200);
        const job = await queue.getJob(String(accepted.headers['x-event-id']));
        expect({ path: job!.data.path, query: job!.data.query }, target).toEqual({ path, query });
        for (const secret of [token, old, encoded]) expect(JSON.stringify(job!.data)).not.toContain(secret);
      }
    } finally {
      await open.stop();
    }
  });

  it('lets a device in by a path token, records the path without it, and stops it once revoked', async () => {
    const token = createPathToken();
    await store.setPathToken(token, 'device-door-9');
    const before = await queued();
    const accepted = await post(ingest.port, `${PATH}/${token}`);
    expect(accepted.status).toBe(200);
    expect(await queued()).toBe(before + 1);
    const job = await queue.getJob(String(accepted.headers['x-event-id']));
    expect(job!.data.path).toBe(`${PATH}/:token`);
    expect(JSON.stringify(job!.data)).not.toContain(token);
    expect(await redis.keys(`${prefix}:*${token}*`)).toEqual([]);

    const unknown = await failures('unknown_token');
    expect((await post(ingest.port, `${PATH}/${createPathToken()}`)).status).toBe(401);
    expect(await failures('unknown_token')).toBe(unknown + 1);

    await store.revokePathToken(token);
    await waitFor(async () => (await post(ingest.port, `${PATH}/${token}`)).status === 401, 5_000, 'revocation to reach the ingest');
  });

  it('finds an issued token anywhere in the target, keeps older tokens working as the last segment, and refuses two tokens', async () => {
    const token = createPathToken();
    await store.setPathToken(token, 'device-door-10');
    for (const target of [`/hikvision/${token}/events`, `${PATH}/${token}.xml`, `${PATH}?token=${token}`, `${PATH}/${[...token].map((char) => `%${char.charCodeAt(0).toString(16)}`).join('')}`]) {
      const accepted = await post(ingest.port, target);
      expect(accepted.status, target).toBe(200);
      expect(JSON.stringify((await queue.getJob(String(accepted.headers['x-event-id'])))!.data)).not.toContain(token);
    }
    // A token issued before the hkp_ form (43 base64url characters), as devices in the field hold them.
    const old = randomBytes(32).toString('base64url');
    await store.setPathToken(old, 'device-door-11');
    const byOld = await post(ingest.port, `${PATH}/${old}`);
    expect(byOld.status).toBe(200);
    expect((await queue.getJob(String(byOld.headers['x-event-id'])))!.data.path).toBe(`${PATH}/:token`);
    // Two different issued tokens: which device is it? Neither is tried.
    const other = createPathToken();
    await store.setPathToken(other, 'device-door-12');
    const malformed = await failures('malformed');
    expect((await post(ingest.port, `${PATH}/${token}?token=${other}`)).status).toBe(401);
    expect(await failures('malformed')).toBe(malformed + 1);
  });

  it('refuses addresses outside the allow-list with 403 and paths outside it with 404', async () => {
    expect((await post(restricted.port, PATH)).status).toBe(403);
    expect((await post(restricted.port, PATH, { localAddress: '127.0.0.2' })).status).toBe(200);
    expect((await post(restricted.port, '/ISAPI/Event/alarm', { localAddress: '127.0.0.2' })).status).toBe(200);
    expect((await post(restricted.port, '/other/events', { localAddress: '127.0.0.2' })).status).toBe(404);
    const text = await (await fetch(`http://127.0.0.1:${restricted.metricsPort}/metrics`)).text();
    expect(text).toMatch(/hikhub_ingest_auth_failures_total\{reason="forbidden_address",service="ingest"\} 1/);
    expect(text).toMatch(/hikhub_ingest_rejections_total\{reason="path_not_allowed",service="ingest"\} 1/);
  });

  it('refuses to start Digest without a nonce secret, listing what is wrong', async () => {
    const error = await startTestIngest({ QUEUE_PREFIX: prefix, INGEST_AUTH: 'digest', INGEST_DIGEST_USERNAME: 'x' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join('\n')).toMatch(/INGEST_NONCE_SECRET[\s\S]*INGEST_DIGEST_PASSWORD/);
  });

  it('never logs authorization headers, tokens or device passwords', () => {
    let output = '';
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => ((output += chunk.toString()), done()) });
    const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
    logger.info({ req: { headers: { authorization: 'Digest username="a", response="r1"' } }, headers: { authorization: 'Basic c2VjcmV0' }, device: { password: 'pw-123', pathToken: 'tok-456' }, INGEST_NONCE_SECRET: 'nonce-789' }, 'x');
    for (const secret of ['response="r1"', 'c2VjcmV0', 'pw-123', 'tok-456', 'nonce-789']) expect(output).not.toContain(secret);
  });

  it('compares admin secrets without depending on their length or content', () => {
    expect(secretsEqual('s3cret-token', 's3cret-token')).toBe(true);
    expect(secretsEqual('s3cret-tokeX', 's3cret-token')).toBe(false);
    expect(secretsEqual('', 's3cret-token')).toBe(false);
    expect(secretsEqual(undefined, '')).toBe(false);
  });
});
