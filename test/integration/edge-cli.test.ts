import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { runEdgeCommand } from '../../libs/edge-auth/edge-cli.js';
import { isIssuedPathToken } from '../../libs/edge-auth/path-token.js';
import { digestHa1 } from '../../libs/digest/digest.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';

describe('npm run edge: device credentials for the ingest edge', () => {
  const { prefix, cleanup } = createTestPrefix('edge-cli');
  const redis = new Redis(TEST_REDIS_URL);
  const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, INGEST_DIGEST_REALM: 'site-a' };
  const store = new EdgeCredentialStore(redis, prefix, { cacheMs: 0, realm: 'site-a' });

  afterAll(async () => {
    redis.disconnect();
    await cleanup();
  });

  const edge = async (args: string[], stdin = '') => {
    const lines: string[] = [];
    const code = await runEdgeCommand(args, env, { print: (line) => lines.push(line), readSecret: async () => stdin });
    return { code, lines };
  };

  it('creates a token shown once, stores only its hash, and revokes it', async () => {
    const created = await edge(['token', 'create', 'door-3']);
    expect(created.code).toBe(0);
    const token = created.lines.at(-1)!;
    expect(isIssuedPathToken(token)).toBe(true);
    expect(await store.resolvePathToken(token)).toBe('door-3');
    const values = await Promise.all((await redis.keys(`${prefix}:edge:*`)).map((key) => redis.get(key)));
    expect((await redis.keys(`${prefix}:*`)).join(' ') + values.join(' ')).not.toContain(token);
    expect((await edge(['token', 'revoke', token])).code).toBe(0);
    expect(await store.resolvePathToken(token)).toBeNull();
  });

  it('sets a Digest credential from stdin as an HA1 for the realm, never the password, and removes it', async () => {
    expect((await edge(['digest', 'set', 'door-3', 'device-3'], 'correct horse battery\n')).code).toBe(0);
    expect(await store.resolveDigestHa1('door-3')).toEqual({ ha1: digestHa1('door-3', 'site-a', 'correct horse battery'), deviceId: 'device-3' });
    expect(await redis.get(`${prefix}:edge:digest:door-3`)).not.toContain('correct horse');
    expect((await edge(['digest', 'set', 'door-4', 'device-4'], 'short')).code).not.toBe(0);
    expect((await edge(['digest', 'remove', 'door-3'])).code).toBe(0);
    expect(await store.resolveDigestHa1('door-3')).toBeNull();
    expect((await edge(['nonsense'])).code).toBe(64);
  });
});
