import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Stateless Digest nonces: `base64url(issued-at ms ‖ 8 random bytes ‖ HMAC-SHA256 truncated to 16)`.
 * Any replica holding the same secret verifies any nonce without shared state; a nonce older than
 * its lifetime is `stale` (the client is told `stale=true` and retries with a fresh one). Which
 * nonce counts were used is shared state: nonce-replay-guard.ts.
 */

const TIME_BYTES = 8;
const RANDOM_BYTES = 8;
const MAC_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
/** Replicas' clocks may disagree a little; a nonce "from the future" within this is still accepted. */
const CLOCK_SKEW_MS = 60_000;

export type NonceStatus = 'valid' | 'stale' | 'invalid';

/** Nonces this process has verified, remembered so a reused nonce costs no HMAC. */
const VERIFIED_CACHE_SIZE = 20_000;

export class NonceIssuer {
  private readonly key: Buffer;
  private readonly verified = new Map<string, number>();

  constructor(
    secret: string,
    readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(secret, 'utf8');
  }

  issue(): string {
    const payload = Buffer.alloc(TIME_BYTES + RANDOM_BYTES);
    payload.writeBigUInt64BE(BigInt(Math.floor(this.now())), 0);
    randomBytes(RANDOM_BYTES).copy(payload, TIME_BYTES);
    return Buffer.concat([payload, this.mac(payload)]).toString('base64url');
  }

  check(nonce: string): NonceStatus {
    const issuedAt = this.issuedAt(nonce);
    if (issuedAt === null) return 'invalid';
    const age = this.now() - issuedAt;
    if (age < -CLOCK_SKEW_MS) return 'invalid';
    return age > this.lifetimeMs ? 'stale' : 'valid';
  }

  /**
   * How long from now any replica may still take this (valid) nonce: its lifetime plus the clock
   * skew replicas tolerate, so a replay guard that remembers it this long never forgets it early.
   */
  remainingMs(nonce: string): number {
    const issuedAt = this.issuedAt(nonce);
    return issuedAt === null ? 0 : Math.max(0, issuedAt + this.lifetimeMs + CLOCK_SKEW_MS - this.now());
  }

  /** When a genuine nonce was issued (ms), or null for a forged or malformed one. */
  issuedAt(nonce: string): number | null {
    let issuedAt = this.verified.get(nonce);
    if (issuedAt === undefined) {
      if (nonce.length !== Math.ceil((NONCE_BYTES * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return null;
      const bytes = Buffer.from(nonce, 'base64url');
      if (bytes.length !== NONCE_BYTES) return null;
      const payload = bytes.subarray(0, TIME_BYTES + RANDOM_BYTES);
      if (!timingSafeEqual(this.mac(payload), bytes.subarray(TIME_BYTES + RANDOM_BYTES))) return null;
      issuedAt = Number(payload.readBigUInt64BE(0));
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(nonce, issuedAt);
    }
    return issuedAt;
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update('hikhub-digest-nonce\0').update(payload).digest().subarray(0, MAC_BYTES);
  }
}
