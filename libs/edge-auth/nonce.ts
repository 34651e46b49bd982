import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Stateless Digest nonces: `base64url(issued-at ms ‖ 8 random bytes ‖ HMAC-SHA256 truncated to 16)`.
 * Any replica holding the same secret verifies any nonce without shared state; a nonce older than
 * its lifetime is `stale` (the client is told `stale=true` and retries with a fresh one).
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
    let issuedAt = this.verified.get(nonce);
    if (issuedAt === undefined) {
      if (nonce.length !== Math.ceil((NONCE_BYTES * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return 'invalid';
      const bytes = Buffer.from(nonce, 'base64url');
      if (bytes.length !== NONCE_BYTES) return 'invalid';
      const payload = bytes.subarray(0, TIME_BYTES + RANDOM_BYTES);
      if (!timingSafeEqual(this.mac(payload), bytes.subarray(TIME_BYTES + RANDOM_BYTES))) return 'invalid';
      issuedAt = Number(payload.readBigUInt64BE(0));
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(nonce, issuedAt);
    }
    const age = this.now() - issuedAt;
    if (age < -CLOCK_SKEW_MS) return 'invalid';
    return age > this.lifetimeMs ? 'stale' : 'valid';
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update('hikhub-digest-nonce\0').update(payload).digest().subarray(0, MAC_BYTES);
  }
}

/**
 * Per-replica replay guard for the nonce count (`nc`) of qop=auth requests: a (nonce, nc) pair is
 * accepted once by this process. Counts may arrive out of order (a device with several
 * connections), so a window of recent counts is remembered, not just the highest. Bounded in
 * memory: nonces expire with their lifetime and the oldest are dropped past `maxNonces`.
 */
export class NonceCountGuard {
  private readonly seen = new Map<string, { expiresAt: number; highest: number; counts: Set<number> }>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxNonces = 50_000,
    private readonly window = 4_096,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time this nonce count is presented to this process. */
  firstUse(nonce: string, ncHex: string): boolean {
    const nc = Number.parseInt(ncHex, 16);
    if (!/^[0-9a-f]{1,8}$/i.test(ncHex) || !Number.isFinite(nc) || nc < 1) return false;
    const now = this.now();
    let entry = this.seen.get(nonce);
    if (entry === undefined || entry.expiresAt < now) {
      if (entry === undefined) this.evict();
      entry = { expiresAt: now + this.lifetimeMs + 60_000, highest: 0, counts: new Set() };
      this.seen.set(nonce, entry);
    }
    if (nc <= entry.highest - this.window || entry.counts.has(nc)) return false;
    entry.counts.add(nc);
    if (nc > entry.highest) entry.highest = nc;
    if (entry.counts.size > 2 * this.window) {
      for (const count of entry.counts) if (count <= entry.highest - this.window) entry.counts.delete(count);
    }
    return true;
  }

  private evict(): void {
    if (this.seen.size < this.maxNonces) return;
    // Map iteration is insertion order: the nonces first seen longest ago go first.
    for (const nonce of this.seen.keys()) {
      if (this.seen.size < this.maxNonces * 0.9) break;
      this.seen.delete(nonce);
    }
  }
}
