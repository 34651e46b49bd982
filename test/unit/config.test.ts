import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiEnvSchema, archiverEnvSchema, ConfigError, ingestEnvSchema, loadEnv, parseByteSize, provisionerEnvSchema } from '../../libs/config/env.js';

describe('environment validation', () => {
  it('applies the documented defaults', () => {
    const env = loadEnv(ingestEnvSchema.extend(archiverEnvSchema.shape), {});
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/hikhub');
    expect(env.DATA_DIR).toBe('./data');
    expect(env.INGEST_PORT).toBe(8080);
    expect(env.QUEUE_PREFIX).toBe('hikhub');
    expect(env.INGEST_MAX_BODY).toBe(10 * 1024 * 1024);
    expect(env.ARCHIVE_HEARTBEATS).toBe(false);
    expect(env.TRUSTED_PROXIES).toEqual([]);
  });

  it('lists every problem at once, not the first one', () => {
    let error: unknown;
    try {
      loadEnv(archiverEnvSchema, { REDIS_URL: 'http://nope', ARCHIVER_CONCURRENCY: 'many', DATABASE_URL: 'mysql://x', DEVICE_TIME_ZONE: 'Mars/Olympus' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const key of ['REDIS_URL', 'ARCHIVER_CONCURRENCY', 'DATABASE_URL', 'DEVICE_TIME_ZONE']) expect(problems).toContain(key);
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it('treats an empty variable as unset', () => {
    expect(loadEnv(ingestEnvSchema, { INGEST_PORT: '' }).INGEST_PORT).toBe(8080);
  });

  it('reads sizes with units', () => {
    expect(parseByteSize('10MiB')).toBe(10_485_760);
    expect(parseByteSize('512 KiB')).toBe(524_288);
    expect(parseByteSize('1048576')).toBe(1_048_576);
    expect(parseByteSize('2MB')).toBe(2_000_000);
    expect(() => loadEnv(ingestEnvSchema, { INGEST_MAX_BODY: 'ten megs' })).toThrow(/INGEST_MAX_BODY/);
  });

  it('documents every variable in .env.example', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const keys = [ingestEnvSchema, archiverEnvSchema, provisionerEnvSchema, apiEnvSchema].flatMap((schema) => Object.keys(schema.shape));
    for (const key of keys) expect(documented, `${key} missing from .env.example`).toContain(key);
    for (const key of documented) expect(keys, `${key} in .env.example is not read by any service`).toContain(key);
  });
});
