/**
 * Which errors mean "a dependency is away" rather than "this job is wrong". An outage costs a job
 * no attempt: the archiver holds work until a probe sees the dependency again (outage-circuit.ts).
 * Everything else keeps the job's attempts and backoff. Pure: the error is all it looks at.
 */

export const OUTAGE_DEPENDENCIES = ['postgres', 'pictures'] as const;
export type OutageDependency = (typeof OUTAGE_DEPENDENCIES)[number];

/**
 * The disk under DATA_DIR is full, read-only, failing or not ours to write; ENOTDIR: DATA_DIR (or
 * a folder in it) is not a directory — every path below it is made by hikhub, never by a device.
 */
const DISK_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR']);

/** The network between us and Postgres (or Postgres itself) went away. */
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ENOTCONN',
]);

/**
 * SQLSTATEs of a Postgres that cannot serve now: connection exceptions (class 08), admin/crash
 * shutdown and "starting up" (57P01-57P03), too many connections and other exhausted resources
 * (class 53: disk full, out of memory), read-only after a failover (25006), I/O errors (58030).
 */
const POSTGRES_UNAVAILABLE = /^(08...|57P0[1-3]|53...|25006|58030)$/;

/** What node-postgres and its pool say when the connection is lost or cannot be made in time. */
const POSTGRES_CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /is not queryable/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /terminating connection due to administrator command/i,
  /too many clients already/i,
  /query read timeout/i,
];

interface ErrorShape {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** The dependency whose outage this error shows, or null when it is an ordinary failure of the job. */
export function classifyOutage(error: unknown, depth = 0): OutageDependency | null {
  if (typeof error !== 'object' || error === null || depth > 4) return null;
  const { code, syscall, message, errors, cause } = error as ErrorShape;
  if (typeof code === 'string') {
    if (DISK_ERRNO.has(code) && syscall !== 'connect') return 'pictures';
    if (NETWORK_ERRNO.has(code)) return 'postgres';
    if (POSTGRES_UNAVAILABLE.test(code)) return 'postgres';
  }
  if (typeof message === 'string' && POSTGRES_CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return 'postgres';
  // A dual-stack connect fails as an AggregateError of both attempts; wrappers keep the original as cause.
  for (const inner of [...(Array.isArray(errors) ? errors : []), cause]) {
    const dependency = classifyOutage(inner, depth + 1);
    if (dependency) return dependency;
  }
  return null;
}
