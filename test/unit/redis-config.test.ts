import { describe, expect, it } from 'vitest';
import { ConfigError, ingestEnvSchema, loadEnv, migrateEnvSchema } from '../../libs/config/env.js';
import { redactUrl } from '../../libs/config/redact-url.js';
import { closestToFull } from '../../libs/metrics/redis-memory.js';
import { isHashTaggedPrefix, isValidKeyPrefix, keyLayout } from '../../libs/redis/key-layout.js';
import { parseRedisUrl, redisModeOf } from '../../libs/redis/redis-target.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadEnv(ingestEnvSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('REDIS_URL: one Redis, a Cluster, or Sentinel', () => {
  it('reads one Redis as always', () => {
    expect(parseRedisUrl('redis://:pw@10.0.0.5:6380/2')).toEqual({ mode: 'standalone', url: 'redis://:pw@10.0.0.5:6380/2', password: 'pw', tls: false });
    expect(parseRedisUrl('rediss://cache.example.com')).toMatchObject({ mode: 'standalone', tls: true });
  });

  it('reads cluster seed nodes, default port 6379, IPv6 in brackets', () => {
    expect(parseRedisUrl('redis+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2,[::1]:7002')).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 's@cret',
      tls: false,
    });
    expect(parseRedisUrl('rediss+cluster://a:1')).toMatchObject({ mode: 'cluster', tls: true });
  });

  it('reads sentinels (default port 26379), the master name, db and the sentinels own password', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26380,s2/mymaster/3?sentinelPassword=sp')).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      db: 3,
      password: 'pw',
      sentinelPassword: 'sp',
      tls: false,
    });
  });

  it('says what is wrong, for each shape', () => {
    const message = (url: string) => {
      try {
        parseRedisUrl(url);
        return 'parsed';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(message('http://x')).toMatch(/redis:\/\/, rediss:\/\/, redis\+cluster:\/\//);
    expect(message('redis://a:1,b:2')).toMatch(/one host only/);
    expect(message('redis+cluster://a:1/0')).toMatch(/no path/);
    expect(message('redis+cluster://a:99999')).toMatch(/not host:port/);
    expect(message('redis+cluster://a:1,,b:2')).toMatch(/host:port/);
    expect(message('redis+sentinel://s1:26379')).toMatch(/names the master/);
    expect(message('redis+sentinel://s1:26379/m/x')).toMatch(/db number/);
    expect(redisModeOf('REDIS+SENTINEL://s/m')).toBe('sentinel');
    expect(redisModeOf('memcache://x')).toBeNull();
  });

  it('redacts the password of host-list URLs in logs', () => {
    expect(redactUrl('redis+cluster://app:secret@a:1,b:2')).toBe('redis+cluster://app:***@a:1,b:2');
    expect(redactUrl('redis+sentinel://:secret@s1:26379/mymaster')).not.toContain('secret');
  });
});

describe('QUEUE_PREFIX and the cluster rule', () => {
  it('accepts a hash-tagged prefix and refuses half braces', () => {
    expect(loadEnv(ingestEnvSchema, { QUEUE_PREFIX: '{hikhub}' }).QUEUE_PREFIX).toBe('{hikhub}');
    expect(isValidKeyPrefix('{hikhub')).toBe(false);
    expect(isValidKeyPrefix('{a}b')).toBe(false);
    expect(isHashTaggedPrefix('{site-a}')).toBe(true);
    expect(isHashTaggedPrefix('site-a')).toBe(false);
  });

  it('on a cluster, requires the hash tag — listed with every other problem', () => {
    const problems = problemsOf({ REDIS_URL: 'redis+cluster://a:7000,b:7001', INGEST_PORT: 'x' });
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/QUEUE_PREFIX: Redis Cluster needs a hash-tagged prefix, e\.g\. QUEUE_PREFIX=\{hikhub\}/);
    expect(problems.join('\n')).toMatch(/INGEST_PORT/);
    expect(problemsOf({ REDIS_URL: 'redis+cluster://a:7000', QUEUE_PREFIX: '{hikhub}' })).toEqual([]);
    // Sentinel and one Redis take either form.
    expect(problemsOf({ REDIS_URL: 'redis+sentinel://s1/mymaster', QUEUE_PREFIX: 'hikhub' })).toEqual([]);
    // A schema without Redis settings is not concerned.
    expect(() => loadEnv(migrateEnvSchema, { REDIS_URL: 'redis+cluster://a:7000' })).not.toThrow();
  });

  it('lists a bad REDIS_URL with its reason, never with its password', () => {
    expect(problemsOf({ REDIS_URL: 'redis+sentinel://s1:26379' }).join('\n')).toMatch(/REDIS_URL: a sentinel URL names the master/);
    const shown = problemsOf({ REDIS_URL: 'redis+cluster://app:hunter2@a:1/0' }).join('\n');
    expect(shown).toMatch(/REDIS_URL: a cluster URL takes no path .*app:\*\*\*@a:1/);
    expect(shown).not.toContain('hunter2');
  });
});

describe('the key layout', () => {
  it('keeps the keys hikhub always wrote, all under the prefix', () => {
    const keys = keyLayout('{hikhub}');
    expect(keys.body('0190-id')).toBe('{hikhub}:body:0190-id');
    expect(keys.reprocessBody(42)).toBe('{hikhub}:body:reprocess:42');
    expect(keys.edgeToken('abc')).toBe('{hikhub}:edge:token:abc');
    expect(keys.edgeDigest('door')).toBe('{hikhub}:edge:digest:door');
    expect(keys.edgeNonces(1764670000, 'q')).toBe('{hikhub}:edge:nonces:1764670000:q');
    expect(keys.edgeRateByAddress('10.0.0.7')).toBe('{hikhub}:edge:rate:addr:10.0.0.7');
    expect(keys.edgeRateByDevice('d1')).toBe('{hikhub}:edge:rate:device:d1');
    expect(keys.provisioningBacklog('provisioning')).toBe('{hikhub}:provisioning:device-backlog');
    expect(keys.provisioningDeviceJobs('provisioning', 'd1')).toBe('{hikhub}:provisioning:device-jobs:d1');
    expect(keys.deviceLock('d1')).toBe('{hikhub}:isapi:device-lock:d1');
    expect(keys.authFailures('d1')).toBe('{hikhub}:isapi:auth-failures:d1');
    expect(keys.deviceCircuit('d1')).toBe('{hikhub}:isapi:circuit:d1');
    expect(keys.deviceCircuitFailures('d1')).toBe('{hikhub}:isapi:circuit:d1:failures');
    expect(keys.everything).toBe('{hikhub}:*');
    expect(keyLayout('{hikhub}')).toBe(keys);
  });
});

describe('Redis memory on a cluster', () => {
  it('reports the master closest to full; one without a limit wins', () => {
    expect(closestToFull([{ usedBytes: 50, maxBytes: 100 }, { usedBytes: 90, maxBytes: 100 }, { usedBytes: 10, maxBytes: 1000 }])).toEqual({ usedBytes: 90, maxBytes: 100 });
    expect(closestToFull([{ usedBytes: 90, maxBytes: 100 }, { usedBytes: 5, maxBytes: 0 }])).toEqual({ usedBytes: 5, maxBytes: 0 });
  });
});
