import { randomBytes } from 'node:crypto';
import { digestHa1, parseDigestAuthorization, verifyDigestResponse } from '../../libs/digest/digest.js';

/**
 * Digest authentication as a Hikvision terminal enforces it: MD5 + qop="auth", nonces that expire
 * (a correct answer to an expired or unknown nonce is "stale", not a failed login), nc strictly
 * increasing per nonce, Basic refused, and an illegal-login lock per client IP after
 * `lockoutThreshold` wrong credentials.
 */

export interface DigestGuardOptions {
  username: string;
  password: string;
  realm: string;
  nonceLifetimeMs: number;
  lockoutThreshold: number;
  lockoutMs: number;
  now?: () => number;
}

export type AuthVerdict =
  | { kind: 'ok' }
  /** Answer 401 with a fresh challenge; `retryLoginTime` = wrong attempts left before the lock. */
  | { kind: 'challenge'; stale: boolean; retryLoginTime: number; reason: 'missing' | 'basic' | 'malformed' | 'wrong' | 'stale' | 'replay' }
  | { kind: 'locked'; unlockInSeconds: number };

interface NonceState {
  issuedAt: number;
  lastNc: number;
}

const MAX_NONCES = 10_000;

export class DigestGuard {
  private readonly nonces = new Map<string, NonceState>();
  private readonly failuresByIp = new Map<string, number>();
  private readonly lockedUntilByIp = new Map<string, number>();
  private readonly ha1: string;
  private readonly now: () => number;
  /** Wrong credentials evaluated (requests refused during a lock are not evaluated). */
  authFailures = 0;
  /** Requests refused unevaluated because their IP was locked. */
  lockedRejections = 0;

  constructor(private readonly options: DigestGuardOptions) {
    this.ha1 = digestHa1(options.username, options.realm, options.password);
    this.now = options.now ?? Date.now;
  }

  get realm(): string {
    return this.options.realm;
  }

  /** A fresh nonce in the device's style: base64 of random hex and the issue time. */
  issueNonce(): string {
    const issuedAt = this.now();
    const nonce = Buffer.from(`${randomBytes(16).toString('hex')}:${issuedAt}`).toString('base64');
    if (this.nonces.size >= MAX_NONCES) this.pruneNonces();
    this.nonces.set(nonce, { issuedAt, lastNc: 0 });
    return nonce;
  }

  check(method: string, requestTarget: string, authorization: string | undefined, clientIp: string): AuthVerdict {
    const lockedFor = this.lockRemainingMs(clientIp);
    if (lockedFor > 0) {
      this.lockedRejections += 1;
      return { kind: 'locked', unlockInSeconds: Math.ceil(lockedFor / 1000) };
    }
    if (!authorization) return this.challenge(clientIp, 'missing');
    if (/^\s*Basic\s/i.test(authorization)) {
      // Basic is refused; it only costs a login attempt when it actually carries a password.
      return basicPassword(authorization) ? this.failure(clientIp) : this.challenge(clientIp, 'basic');
    }
    const auth = parseDigestAuthorization(authorization);
    if (!auth || auth.qop !== 'auth' || !auth.nc || !/^[0-9a-f]{1,8}$/i.test(auth.nc)) return this.challenge(clientIp, 'malformed');
    // A foreign uri, user or realm cannot produce the response the device computes: a wrong login.
    if (auth.username !== this.options.username || auth.realm !== this.options.realm || auth.uri !== requestTarget) return this.failure(clientIp);
    if (!verifyDigestResponse(auth, method, this.ha1)) return this.failure(clientIp);
    const nonce = this.nonces.get(auth.nonce);
    if (!nonce || this.now() - nonce.issuedAt > this.options.nonceLifetimeMs) {
      this.nonces.delete(auth.nonce);
      return this.challenge(clientIp, 'stale');
    }
    const nc = Number.parseInt(auth.nc, 16);
    if (nc <= nonce.lastNc) return this.challenge(clientIp, 'replay');
    nonce.lastNc = nc;
    this.failuresByIp.delete(clientIp);
    return { kind: 'ok' };
  }

  /** What a reboot forgets: nonces, failure counts and locks. */
  reset(): void {
    this.nonces.clear();
    this.failuresByIp.clear();
    this.lockedUntilByIp.clear();
  }

  locks(): { ip: string; unlockInSeconds: number }[] {
    return [...this.lockedUntilByIp.keys()]
      .map((ip) => ({ ip, unlockInSeconds: Math.ceil(this.lockRemainingMs(ip) / 1000) }))
      .filter((lock) => lock.unlockInSeconds > 0);
  }

  private challenge(clientIp: string, reason: Extract<AuthVerdict, { kind: 'challenge' }>['reason']): AuthVerdict {
    const retryLoginTime = Math.max(0, this.options.lockoutThreshold - (this.failuresByIp.get(clientIp) ?? 0));
    return { kind: 'challenge', stale: reason === 'stale', retryLoginTime, reason };
  }

  private failure(clientIp: string): AuthVerdict {
    this.authFailures += 1;
    const failures = (this.failuresByIp.get(clientIp) ?? 0) + 1;
    this.failuresByIp.set(clientIp, failures);
    if (failures >= this.options.lockoutThreshold) {
      this.lockedUntilByIp.set(clientIp, this.now() + this.options.lockoutMs);
      return { kind: 'locked', unlockInSeconds: Math.ceil(this.options.lockoutMs / 1000) };
    }
    return this.challenge(clientIp, 'wrong');
  }

  private lockRemainingMs(clientIp: string): number {
    const until = this.lockedUntilByIp.get(clientIp);
    if (until === undefined) return 0;
    const remaining = until - this.now();
    if (remaining > 0) return remaining;
    this.lockedUntilByIp.delete(clientIp);
    this.failuresByIp.delete(clientIp);
    return 0;
  }

  private pruneNonces(): void {
    const now = this.now();
    for (const [nonce, state] of this.nonces) {
      if (now - state.issuedAt > this.options.nonceLifetimeMs) this.nonces.delete(nonce);
    }
    // Still full of live nonces (a client that never answers its challenges): drop the oldest.
    for (const nonce of this.nonces.keys()) {
      if (this.nonces.size < MAX_NONCES) break;
      this.nonces.delete(nonce);
    }
  }
}

function basicPassword(authorization: string): string {
  const decoded = Buffer.from(authorization.replace(/^\s*Basic\s+/i, '').trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? '' : decoded.slice(colon + 1);
}
