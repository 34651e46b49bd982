import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { IngestEnv } from '../../libs/config/env.js';
import { digestHa1, formatDigestChallenge, parseDigestAuthorization, verifyDigestResponse } from '../../libs/digest/digest.js';
import { createAddressMatcher } from '../../libs/edge-auth/address-list.js';
import type { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { NonceIssuer } from '../../libs/edge-auth/nonce.js';
import { NonceReplayGuard, parseNonceCount } from '../../libs/edge-auth/nonce-replay-guard.js';
import { createPathMatcher } from '../../libs/edge-auth/path-glob.js';
import type { RateLimit, RedisRateLimiter } from '../../libs/edge-auth/rate-limiter.js';
import { findPathToken, redactTarget } from '../../libs/edge-auth/token-redaction.js';
import type { Logger } from '../../libs/logger/logger.js';
import { withTimeout } from '../../libs/redis/connection.js';
import { keyLayout } from '../../libs/redis/key-layout.js';
import { edgeModes } from './edge-config.js';
import type { AuthFailureReason, IngestMetrics, IngestRejectionReason } from './metrics.js';

/** What the edge decided about a device POST, before its body is read. */
export type EdgeDecision =
  | {
      kind: 'pass';
      /** The authenticated device (path token or per-device Digest credential); null when open or shared. */
      deviceId: string | null;
      /** The path as it may be recorded: any token in it is replaced by ":token" so it never reaches Redis, Postgres or logs. */
      recordedPath: string;
      /** The query (without "?") as it may be recorded, tokens redacted the same way; "" when there is none. */
      recordedQuery: string;
    }
  | { kind: 'refuse'; status: number; text: string; rejection: IngestRejectionReason; headers: Record<string, string> };

export interface EdgeRequest {
  req: IncomingMessage;
  /** Request path without the query. */
  path: string;
  /** The request-target as sent (origin form), which a Digest `uri` must equal. */
  target: string;
  /** The device's address (proxy-aware). */
  address: string;
}

export type EdgeSettings = Pick<
  IngestEnv,
  | 'QUEUE_PREFIX'
  | 'INGEST_AUTH'
  | 'INGEST_DIGEST_REALM'
  | 'INGEST_DIGEST_USERNAME'
  | 'INGEST_DIGEST_PASSWORD'
  | 'INGEST_NONCE_SECRET'
  | 'INGEST_NONCE_LIFETIME_S'
  | 'INGEST_ALLOWED_CIDRS'
  | 'INGEST_ALLOWED_PATHS'
  | 'INGEST_RATE_PER_ADDRESS'
  | 'INGEST_BURST_PER_ADDRESS'
  | 'INGEST_RATE_PER_DEVICE'
  | 'INGEST_BURST_PER_DEVICE'
>;

const CREDENTIAL_LOOKUP_TIMEOUT_MS = 500;

type AuthResult = { ok: true; deviceId: string | null } | { ok: false; reason: AuthFailureReason; stale: boolean };

/**
 * The device-facing checks, cheapest first: path allow-list (404), address allow-list (403),
 * rate limit per address (429), authentication (401 with a challenge), rate limit per device
 * (429). Rate limits fail open when Redis does not answer: the durable write that follows
 * answers 503 in that case anyway, and a limiter must never be the reason an event is lost.
 * Credential look-ups and the Digest replay guard fail closed: the check throws and the caller
 * answers 503 (never a request let in unchecked).
 */
export function createEdgeGuard(options: {
  settings: EdgeSettings;
  store: EdgeCredentialStore;
  limiter: RedisRateLimiter;
  metrics: IngestMetrics;
  logger: Logger;
  /** Used nonce counts, shared by every replica. */
  replays: NonceReplayGuard;
}) {
  const { settings, store, limiter, replays, metrics, logger } = options;
  const modes = edgeModes(settings);
  const pathAllowed = createPathMatcher(settings.INGEST_ALLOWED_PATHS);
  const addressAllowed = settings.INGEST_ALLOWED_CIDRS.length ? createAddressMatcher(settings.INGEST_ALLOWED_CIDRS) : () => true;
  const realm = settings.INGEST_DIGEST_REALM;
  const lifetimeMs = settings.INGEST_NONCE_LIFETIME_S * 1000;
  const nonces = modes.digest ? new NonceIssuer(settings.INGEST_NONCE_SECRET ?? '', lifetimeMs) : null;
  const shared =
    settings.INGEST_DIGEST_USERNAME !== undefined && settings.INGEST_DIGEST_PASSWORD !== undefined
      ? { username: settings.INGEST_DIGEST_USERNAME, ha1: digestHa1(settings.INGEST_DIGEST_USERNAME, realm, settings.INGEST_DIGEST_PASSWORD) }
      : null;
  const keys = keyLayout(settings.QUEUE_PREFIX);
  // A hung Redis must not hold a device's request: past this the caller answers 503 and the device retries.
  const lookup = <T>(promise: Promise<T>) => withTimeout(promise, CREDENTIAL_LOOKUP_TIMEOUT_MS);
  let lastLimiterWarning = 0;

  const refuse = (status: number, text: string, rejection: IngestRejectionReason, headers: Record<string, string> = {}): EdgeDecision => ({
    kind: 'refuse',
    status,
    text,
    rejection,
    headers,
  });

  async function limit(limits: RateLimit[]): Promise<EdgeDecision | null> {
    const decision = await limiter.take(limits);
    if (decision.allowed === true) return null;
    if (decision.allowed === 'unknown') {
      metrics.rateLimitErrors.inc();
      if (Date.now() - lastLimiterWarning > 10_000) {
        lastLimiterWarning = Date.now();
        logger.warn({ err: decision.error.message }, 'rate limiter unavailable; letting requests through');
      }
      return null;
    }
    return refuse(429, 'Too many requests, retry later\n', 'rate_limited', { 'retry-after': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) });
  }

  function challenge(stale: boolean): string {
    if (nonces) return formatDigestChallenge({ realm, nonce: nonces.issue(), qop: 'auth', algorithm: 'MD5', stale });
    return `PathToken realm="${realm}"`;
  }

  async function verifyDigest(header: string, edge: EdgeRequest): Promise<AuthResult> {
    const fail = (reason: AuthFailureReason, stale = false): AuthResult => ({ ok: false, reason, stale });
    const auth = parseDigestAuthorization(header);
    if (auth === null || (auth.algorithm !== undefined && !/^md5$/i.test(auth.algorithm))) return fail('malformed');
    // We always offer qop="auth"; an answer without it (RFC 2069) has no nonce count, so it could be replayed.
    if (auth.qop === undefined) return fail('malformed');
    if (auth.realm !== realm) return fail('bad_credentials');
    // The response covers the uri, so binding it to this request stops a captured header being reused on another path.
    if (auth.uri !== edge.target && auth.uri !== edge.req.url) return fail('uri_mismatch');
    const nonceStatus = nonces!.check(auth.nonce);
    if (nonceStatus === 'invalid') return fail('bad_nonce');
    const credential = shared !== null && auth.username === shared.username ? { ha1: shared.ha1, deviceId: null } : await lookup(store.resolveDigestHa1(auth.username));
    if (credential === null) {
      // Same work as a wrong password, so timing does not tell which usernames exist.
      verifyDigestResponse(auth, edge.req.method ?? 'POST', randomBytes(16).toString('hex'));
      return fail('unknown_user');
    }
    if (!verifyDigestResponse(auth, edge.req.method ?? 'POST', credential.ha1)) return fail('bad_credentials');
    // Right password on an old nonce: RFC 7616 says stale=true, and the client retries without asking its user.
    if (nonceStatus === 'stale') return fail('stale_nonce', true);
    const nc = parseNonceCount(auth.nc);
    if (nc === null) return fail('malformed');
    // Shared with every replica; a count seen before (or given up, see nonce-replay-guard.ts) gets a fresh nonce.
    const used = replays.firstUse(auth.nonce, nonces!.issuedAt(auth.nonce)!, nc, nonces!.remainingMs(auth.nonce));
    if (!(await lookup(used))) return fail('replayed_nonce', true);
    return { ok: true, deviceId: credential.deviceId };
  }

  async function authenticate(edge: EdgeRequest): Promise<AuthResult> {
    if (!modes.digest && !modes.token) return { ok: true, deviceId: null };
    let failure: AuthResult = { ok: false, reason: 'missing', stale: false };
    if (modes.token) {
      const found = findPathToken(edge.target);
      if (found.kind === 'ambiguous') failure = { ok: false, reason: 'malformed', stale: false };
      if (found.kind === 'token') {
        const deviceId = await lookup(store.resolvePathToken(found.token));
        if (deviceId !== null) return { ok: true, deviceId };
        failure = { ok: false, reason: 'unknown_token', stale: false };
      }
    }
    const header = edge.req.headers.authorization;
    if (modes.digest && header !== undefined) failure = await verifyDigest(header, edge);
    return failure;
  }

  return async function checkEdge(edge: EdgeRequest): Promise<EdgeDecision> {
    if (!pathAllowed(edge.path)) return refuse(404, 'Not found\n', 'path_not_allowed');
    if (!addressAllowed(edge.address)) {
      metrics.authFailures.inc({ reason: 'forbidden_address' });
      return refuse(403, 'Forbidden\n', 'forbidden_address', { connection: 'close' });
    }
    const perAddress = await limit([{ key: keys.edgeRateByAddress(edge.address), ratePerSecond: settings.INGEST_RATE_PER_ADDRESS, burst: settings.INGEST_BURST_PER_ADDRESS }]);
    if (perAddress) return perAddress;

    const auth = await authenticate(edge);
    if (!auth.ok) {
      metrics.authFailures.inc({ reason: auth.reason });
      return refuse(401, 'Unauthorized\n', 'unauthenticated', { 'www-authenticate': challenge(auth.stale) });
    }
    if (auth.deviceId !== null) {
      const perDevice = await limit([{ key: keys.edgeRateByDevice(auth.deviceId), ratePerSecond: settings.INGEST_RATE_PER_DEVICE, burst: settings.INGEST_BURST_PER_DEVICE }]);
      if (perDevice) return perDevice;
    }
    // Whatever INGEST_AUTH is, no token is recorded: a device configured with one before token
    // auth was turned on (or with one it does not need) must not leak it.
    const recorded = redactTarget(edge.target);
    return { kind: 'pass', deviceId: auth.deviceId, recordedPath: recorded.path, recordedQuery: recorded.query };
  };
}

export type EdgeGuard = ReturnType<typeof createEdgeGuard>;
