/**
 * THE layout of every Redis key hikhub writes. Every key starts with the queue prefix, the same
 * one BullMQ puts before its queue keys (`<prefix>:<queue>:…`), so:
 * - two installs share one Redis with different prefixes, and a test deletes its own prefix;
 * - on Redis Cluster the prefix is hash-tagged (`{hikhub}`): every hikhub key hashes to one slot,
 *   so a Lua script, MULTI or pipeline over several of them (BullMQ's scripts, the rate limiter,
 *   the per-device job counts) never crosses slots. Spreading load over masters is done by
 *   running shards with different prefixes (docs/operations.md), never by splitting one prefix.
 * Keys are built here and nowhere else; the strings are the ones hikhub always wrote.
 */

const PLAIN_PREFIX = /^[A-Za-z0-9_.-]+$/;
const HASH_TAGGED_PREFIX = /^\{[A-Za-z0-9_.-]+\}$/;

/** `hikhub` or `{hikhub}`: letters, digits, `_ . -`, optionally wrapped whole in one hash tag. */
export function isValidKeyPrefix(prefix: string): boolean {
  return PLAIN_PREFIX.test(prefix) || HASH_TAGGED_PREFIX.test(prefix);
}

/** True when every key under the prefix lands in one Cluster slot (Redis hashes only what is inside the first `{…}`). */
export function isHashTaggedPrefix(prefix: string): boolean {
  return HASH_TAGGED_PREFIX.test(prefix);
}

export interface KeyLayout {
  readonly prefix: string;
  /** SCAN pattern for everything under the prefix (queues included). */
  readonly everything: string;

  /** Binary body of an event (a hash of chunks, libs/jobs/body-store.ts); the job carries this key. */
  body(eventId: string): string;
  /** Start of every body key: the orphan sweep scans `bodyPrefix*` and reads the id after it. */
  readonly bodyPrefix: string;
  /** A quarantined row's body while its re-run job is queued (also under bodyPrefix; its id is no event id). */
  reprocessBody(quarantineRowId: string | number): string;

  /** Device path token → device (only the token's hash is stored). */
  edgeToken(tokenHash: string): string;
  /** Per-device Digest credential (HA1) by username. */
  edgeDigest(username: string): string;
  /** Digest nonces seen, per second of issue and sub-bucket (the replay guard's hashes). */
  edgeNonces(issueSlot: number, bucket: string): string;
  /** GCRA rate-limit state per source address and per authenticated device. */
  edgeRateByAddress(address: string): string;
  edgeRateByDevice(deviceId: string): string;

  /** Provisioning jobs queued per device (a hash), used as job priority. */
  provisioningBacklog(queue: string): string;
  /** Recent provisioning job ids of one device (a sorted set). */
  provisioningDeviceJobs(queue: string, deviceId: string): string;

  /** One ISAPI request per device across provisioner replicas. */
  deviceLock(deviceId: string): string;
  /** Refused logins per device in the lockout window. */
  authFailures(deviceId: string): string;
  /** Per-device circuit (devices that keep timing out): open while it exists, and its failure count. */
  deviceCircuit(deviceId: string): string;
  deviceCircuitFailures(deviceId: string): string;
}

const layouts = new Map<string, KeyLayout>();

/** The layout under one prefix (built once per prefix: body keys are made on every event). */
export function keyLayout(prefix: string): KeyLayout {
  let layout = layouts.get(prefix);
  if (!layout) layouts.set(prefix, (layout = buildLayout(prefix)));
  return layout;
}

function buildLayout(prefix: string): KeyLayout {
  const key = (...parts: (string | number)[]) => [prefix, ...parts].join(':');
  const bodyPrefix = `${prefix}:body:`;
  return {
    prefix,
    everything: `${prefix}:*`,
    body: (eventId) => bodyPrefix + eventId,
    bodyPrefix,
    reprocessBody: (rowId) => `${bodyPrefix}reprocess:${rowId}`,
    edgeToken: (tokenHash) => key('edge', 'token', tokenHash),
    edgeDigest: (username) => key('edge', 'digest', username),
    edgeNonces: (issueSlot, bucket) => key('edge', 'nonces', issueSlot, bucket),
    edgeRateByAddress: (address) => key('edge', 'rate', 'addr', address),
    edgeRateByDevice: (deviceId) => key('edge', 'rate', 'device', deviceId),
    provisioningBacklog: (queue) => key(queue, 'device-backlog'),
    provisioningDeviceJobs: (queue, deviceId) => key(queue, 'device-jobs', deviceId),
    deviceLock: (deviceId) => key('isapi', 'device-lock', deviceId),
    authFailures: (deviceId) => key('isapi', 'auth-failures', deviceId),
    deviceCircuit: (deviceId) => key('isapi', 'circuit', deviceId),
    deviceCircuitFailures: (deviceId) => key('isapi', 'circuit', deviceId, 'failures'),
  };
}
