import { z } from 'zod';
import { isHashTaggedPrefix, isValidKeyPrefix } from '../redis/key-layout.js';
import { parseRedisUrl, redisModeOf } from '../redis/redis-target.js';
import { redactUrl } from './redact-url.js';

/**
 * Every setting hikhub reads from the environment, validated once at boot.
 * `.env.example` documents the same keys; keep the two in step (a test checks it).
 */

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.stringbool({ truthy: ['true', '1', 'yes', 'on'], falsy: ['false', '0', 'no', 'off', ''] });
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** "10MiB", "512KiB", "1048576" → bytes. */
const byteSize = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i, 'expected a size such as 10MiB, 512KiB or 1048576')
  .transform((text) => parseByteSize(text));

export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text}`);
  const units: Record<string, number> = {
    '': 1, b: 1, kb: 1000, kib: 1024, mb: 1000 ** 2, mib: 1024 ** 2, gb: 1000 ** 3, gib: 1024 ** 3,
  };
  const factor = units[(match[2] ?? '').toLowerCase()];
  if (factor === undefined) throw new Error(`unknown unit in ${text}`);
  return Math.floor(Number(match[1]) * factor);
}

const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `expected a URL starting with ${protocols.join(' or ')}`);

/** REDIS_URL in one of the shapes libs/redis/redis-target.ts reads; the message says what is wrong. */
const redisUrl = z.string().superRefine((value, ctx) => {
  try {
    parseRedisUrl(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** A fixed offset (+08:00, -5:00, Z) or an IANA zone name (Europe/Paris). */
const timeZone = z
  .string()
  .trim()
  .refine((value) => {
    if (/^(Z|[+-]\d{1,2}(:?\d{2})?)$/.test(value)) return true;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      return true;
    } catch {
      return false;
    }
  }, 'expected an offset such as +08:00 or an IANA zone such as Europe/Paris');

/** CIDR list such as "10.0.0.0/8, 127.0.0.1, ::1". Kept as text; parsed by the proxy-trust code. */
const cidrList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[0-9a-fA-F.:]+(\/\d{1,3})?$/, 'expected an IP address or CIDR')));

export const commonEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  LOG_LEVEL: logLevel.default('info'),
  /** One Redis (redis://), a Redis Cluster (redis+cluster://seed,seed) or a master behind Sentinel (redis+sentinel://s1,s2/name); rediss… for TLS. */
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  /** Before every Redis key; hash-tagged ({hikhub}) so each queue stays in one slot — required on Redis Cluster. */
  QUEUE_PREFIX: z.string().refine(isValidKeyPrefix, 'letters, digits, _ . - only, optionally wrapped in one {…} hash tag').default('hikhub'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(25_000),
  /** Time between readiness going 503 and servers closing, so load balancers stop routing first. */
  SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).default(0),
});

export const ingestEnvSchema = commonEnvSchema.extend({
  INGEST_HOST: z.string().default('0.0.0.0'),
  INGEST_PORT: port.default(8080),
  INGEST_METRICS_PORT: port.default(9101),
  INGEST_MAX_BODY: byteSize.default(10 * 1024 * 1024),
  /** Bodies buffered at once across all requests; past it new requests get 503 instead of growing memory. */
  INGEST_MAX_INFLIGHT_BYTES: byteSize.default(256 * 1024 * 1024),
  /** How long the durable write may take before the device is told 503. */
  INGEST_ENQUEUE_TIMEOUT_MS: z.coerce.number().int().positive().max(10_000).default(1500),
  TRUSTED_PROXIES: cidrList.default([]),
  // --- the device-facing edge (docs/security.md) ---
  /** Which credentials a device must present: none (the original's open catch-all), digest, token, or both. */
  INGEST_AUTH: z
    .string()
    .transform((value) => value.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.enum(['none', 'digest', 'token'])).min(1, 'expected none, digest, token or digest,token'))
    .refine((modes) => !(modes.includes('none') && modes.length > 1), 'none cannot be combined with digest or token')
    .default(['none']),
  INGEST_DIGEST_REALM: z.string().min(1).max(128).regex(/^[^"\\\r\n]+$/, 'no quotes, backslashes or line breaks').default('hikhub'),
  /** One credential shared by every device (per-device credentials live in Redis, see `npm run edge`). */
  INGEST_DIGEST_USERNAME: z.string().min(1).max(128).optional(),
  INGEST_DIGEST_PASSWORD: z.string().min(8, 'at least 8 characters').max(256).optional(),
  /** HMAC key signing Digest nonces; every replica needs the same one. Required when digest is on. */
  INGEST_NONCE_SECRET: z.string().min(32, 'at least 32 characters (e.g. openssl rand -base64 48)').optional(),
  INGEST_NONCE_LIFETIME_S: z.coerce.number().int().min(10).max(86_400).default(300),
  /** How long a replica trusts what it read about a token or credential; a revocation takes effect within this. */
  INGEST_CREDENTIAL_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  INGEST_ALLOWED_CIDRS: cidrList.default([]),
  /** Path globs (`*` within a segment, `**` across segments) a device may POST to; others get 404. */
  INGEST_ALLOWED_PATHS: z
    .string()
    .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^\/[^\s?#]*$/, 'expected a path glob starting with /, e.g. /hikvision/**')).min(1))
    .default(['/**']),
  /** Sustained requests per second and burst per source address (0 = no limit), shared by all replicas through Redis. */
  INGEST_RATE_PER_ADDRESS: z.coerce.number().min(0).default(500),
  INGEST_BURST_PER_ADDRESS: z.coerce.number().int().min(1).default(5_000),
  /** The same per authenticated device (token or per-device Digest credential). */
  INGEST_RATE_PER_DEVICE: z.coerce.number().min(0).default(200),
  INGEST_BURST_PER_DEVICE: z.coerce.number().int().min(1).default(2_000),
  INGEST_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(20_000),
  INGEST_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  INGEST_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(0).default(15_000),
  INGEST_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(4_096),
  /** Open connections per source address (0 = no limit); trusted proxies are exempt. */
  INGEST_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(0).default(256),
  /** Requests whose body is being received or written at once; past it → 503 + Retry-After. */
  INGEST_MAX_CONCURRENT_BODIES: z.coerce.number().int().min(1).default(512),
  /** Of those, at most this many per client address (proxy-aware; 0 = no per-address cap): a few slow hosts cannot take every slot. */
  INGEST_MAX_BODIES_PER_ADDRESS: z.coerce.number().int().min(0).default(64),
  /** Body bytes one client address may hold in memory at once (0 = only INGEST_MAX_INFLIGHT_BYTES applies). */
  INGEST_MAX_INFLIGHT_BYTES_PER_ADDRESS: byteSize.default(32 * 1024 * 1024),
  /** A body receiving less than this many bytes per second over INGEST_BODY_RATE_WINDOW_MS gets 408 and its connection closed (0 = off). */
  INGEST_MIN_BODY_RATE: byteSize.default(1024),
  INGEST_BODY_RATE_WINDOW_MS: z.coerce.number().int().min(100).default(10_000),
  /** Also answer /healthz, /readyz and /metrics on the device port (off: only on INGEST_METRICS_PORT, never to devices). */
  INGEST_OPS_ON_DEVICE_PORT: bool.default(false),
});

export const archiverEnvSchema = commonEnvSchema.extend({
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/hikhub'),
  DATA_DIR: z.string().min(1).default('./data'),
  ARCHIVER_METRICS_PORT: port.default(9102),
  // High so that concurrent jobs fill the batched writes (services/archiver/micro-batcher.ts).
  ARCHIVER_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(128),
  ARCHIVE_HEARTBEATS: bool.default(false),
  /** How a device time without an offset is read: unset → occurred_at stays null. */
  DEVICE_TIME_ZONE: timeZone.optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  MIGRATE_ON_START: bool.default(true),
  /** How long a job's lock lives without renewal; a crashed archiver's job is re-run after about this long. */
  ARCHIVER_LOCK_DURATION_MS: z.coerce.number().int().min(100).default(30_000),
  ARCHIVER_STALLED_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  /** A job whose archiver died under it this many times is quarantined (reason crashes_archiver) instead of run again. */
  ARCHIVER_MAX_STALLS: z.coerce.number().int().min(1).max(1_000).default(5),
  /** A device that posted nothing (event or heartbeat) for this long counts as silent in hikhub_archiver_devices. */
  DEVICE_SILENT_AFTER_SECONDS: z.coerce.number().int().min(1).default(600),
});

export const migrateEnvSchema = commonEnvSchema.pick({ NODE_ENV: true, LOG_LEVEL: true }).extend({
  DATABASE_URL: archiverEnvSchema.shape.DATABASE_URL,
});

/** Keys of services that keep desired state in Postgres and read device credentials. */
const desiredStateEnvShape = {
  DATABASE_URL: archiverEnvSchema.shape.DATABASE_URL,
  DB_POOL_SIZE: archiverEnvSchema.shape.DB_POOL_SIZE,
  MIGRATE_ON_START: archiverEnvSchema.shape.MIGRATE_ON_START,
  DATA_DIR: archiverEnvSchema.shape.DATA_DIR,
  /**
   * AES-256-GCM key for device passwords at rest: 32 bytes as base64 or 64 hex digits. Unset: a key
   * is generated once in DATA_DIR/secrets/credentials.key (single-machine installs); replicas must share it.
   */
  CREDENTIALS_KEY: z
    .string()
    .trim()
    .refine((value) => /^[0-9a-f]{64}$/i.test(value) || Buffer.from(value, 'base64').length === 32, 'expected 32 bytes as base64 or 64 hex digits')
    .optional(),
};

export const provisionerEnvSchema = commonEnvSchema.extend({
  ...desiredStateEnvShape,
  PROVISIONER_METRICS_PORT: port.default(9103),
  /** Jobs run at once by one process; each device still gets one request at a time across all replicas. */
  PROVISIONER_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
  /** Tries per job (exponential backoff with full jitter, 1 s doubling to a 5 min cap) before it is parked as failed. */
  PROVISIONING_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(20),
  ISAPI_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  ISAPI_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  ISAPI_FACE_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** Every device is reconciled against its desired people this often (BullMQ job scheduler); 0 turns it off. */
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(0).default(6 * 60 * 60 * 1000),
  /** Job lock lifetime (also the per-device request lock): a provisioner killed mid-job has its job and device released after about this. */
  PROVISIONER_LOCK_DURATION_MS: z.coerce.number().int().min(100).default(30_000),
  PROVISIONER_STALLED_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  /** Zone of the devices' clocks, for people's validity times (devices take local time). Unset: UTC. */
  DEVICE_TIME_ZONE: archiverEnvSchema.shape.DEVICE_TIME_ZONE,
});

export const apiEnvSchema = commonEnvSchema.extend({
  ...desiredStateEnvShape,
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: port.default(8081),
  API_METRICS_PORT: port.default(9104),
  /** Bearer token of the admin API (at least 24 characters). Unset: generated once in DATA_DIR/secrets/admin-token. */
  ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /** Where devices should send events, used by configure-events when the request names no URL (e.g. http://hikhub.example.com:8080). */
  EVENT_PUSH_BASE_URL: url(['http:', 'https:']).optional(),
  PROVISIONING_ATTEMPTS: provisionerEnvSchema.shape.PROVISIONING_ATTEMPTS,
  /** Per-device Digest credentials for event push are registered for the ingest's realm. */
  INGEST_DIGEST_REALM: ingestEnvSchema.shape.INGEST_DIGEST_REALM,
  /** Proxies whose X-Forwarded-Proto is believed: the console's session cookie is marked Secure when they say https. */
  TRUSTED_PROXIES: ingestEnvSchema.shape.TRUSTED_PROXIES,
});

export type CommonEnv = z.infer<typeof commonEnvSchema>;
export type IngestEnv = z.infer<typeof ingestEnvSchema>;
export type ArchiverEnv = z.infer<typeof archiverEnvSchema>;
export type ProvisionerEnv = z.infer<typeof provisionerEnvSchema>;
export type ApiEnv = z.infer<typeof apiEnvSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parse the environment against a schema and report every problem at once, not the first one. */
export function loadEnv<S extends z.ZodType>(schema: S, source: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // Empty strings mean "unset" so that `FOO=` in a compose file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  const problems = [
    ...(result.success ? [] : result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const value = typeof issue.path[0] === 'string' ? cleaned[issue.path[0]] : undefined;
      // A URL's password never reaches the log (REDIS_URL, DATABASE_URL carry credentials).
      const shown = value !== undefined && /_URL$/.test(key) ? redactUrl(value) : value;
      return `${key}: ${issue.message}${shown !== undefined && !/PASSWORD|TOKEN|SECRET|KEY/.test(key) ? ` (got ${JSON.stringify(shown)})` : ''}`;
    })),
    ...crossKeyProblems(schema, cleaned),
  ];
  if (problems.length || !result.success) throw new ConfigError(problems);
  return result.data;
}

/**
 * Rules that span two keys, listed with the schema's own problems. They live here because zod
 * cannot `.extend` an object schema that carries a refinement, and every service extends the common one.
 */
function crossKeyProblems(schema: z.ZodType, values: Record<string, string | undefined>): string[] {
  if (!(schema instanceof z.ZodObject) || !('REDIS_URL' in schema.shape) || !('QUEUE_PREFIX' in schema.shape)) return [];
  const prefix = values.QUEUE_PREFIX ?? commonEnvSchema.shape.QUEUE_PREFIX.parse(undefined);
  // BullMQ runs multi-key Lua scripts over a queue's keys: on a cluster they must share one slot.
  if (values.REDIS_URL && redisModeOf(values.REDIS_URL) === 'cluster' && !isHashTaggedPrefix(prefix)) {
    return [`QUEUE_PREFIX: Redis Cluster needs a hash-tagged prefix, e.g. QUEUE_PREFIX={${prefix.replace(/[{}]/g, '')}} (got ${JSON.stringify(prefix)})`];
  }
  return [];
}
