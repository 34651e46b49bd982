import { createHash } from 'node:crypto';
import { digestHa1 } from '../digest/digest.js';
import type { RedisClient } from '../redis/connection.js';
import { keyLayout } from '../redis/key-layout.js';
import { looksLikePathToken } from './path-token.js';

/**
 * Device credentials for the ingest edge, in Redis so every ingest replica sees them without
 * Postgres:
 * - path tokens under `<prefix>:edge:token:<sha256(token)>` → device id (the token itself is never stored);
 * - Digest credentials under `<prefix>:edge:digest:<username>` → { ha1, realm, deviceId }
 *   (HA1 = MD5(username:realm:password), never the password).
 * Reads are cached in-process for `cacheMs`, so a revocation takes effect everywhere within it.
 */

export const DEFAULT_DIGEST_REALM = 'hikhub';
const CACHE_LIMIT = 10_000;

// The token form lives in path-token.ts; re-exported because callers know tokens from the store.
export { createPathToken, looksLikePathToken } from './path-token.js';

export const hashPathToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

interface StoredDigestCredential {
  ha1: string;
  realm: string;
  deviceId: string;
}

interface CacheEntry<T> {
  value: T;
  expiresAt: number;
}

export class EdgeCredentialStore {
  readonly realm: string;
  private readonly cacheMs: number;
  private readonly cache = new Map<string, CacheEntry<unknown>>();

  constructor(
    /** The edge's connection (the Digest replay guard shares it). */
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: { cacheMs?: number; realm?: string } = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5_000;
    this.realm = options.realm ?? DEFAULT_DIGEST_REALM;
  }

  async setPathToken(token: string, deviceId: string): Promise<void> {
    if (!looksLikePathToken(token)) throw new Error('a path token is 32 to 128 characters of A-Z a-z 0-9 _ - (use createPathToken)');
    await this.redis.set(this.tokenKey(token), deviceId);
    this.cache.delete(this.tokenKey(token));
  }

  async revokePathToken(token: string): Promise<void> {
    await this.redis.del(this.tokenKey(token));
    this.cache.delete(this.tokenKey(token));
  }

  /** The device a token belongs to, or null for an unknown or revoked token. */
  async resolvePathToken(token: string): Promise<string | null> {
    if (!looksLikePathToken(token)) return null;
    const key = this.tokenKey(token);
    return this.cached(key, () => this.redis.get(key));
  }

  async setDigestCredential(username: string, password: string, deviceId: string): Promise<void> {
    checkUsername(username);
    if (password.length === 0) throw new Error('empty password');
    const stored: StoredDigestCredential = { ha1: digestHa1(username, this.realm, password), realm: this.realm, deviceId };
    await this.redis.set(this.digestKey(username), JSON.stringify(stored));
    this.cache.delete(this.digestKey(username));
  }

  async removeDigestCredential(username: string): Promise<void> {
    await this.redis.del(this.digestKey(username));
    this.cache.delete(this.digestKey(username));
  }

  /** Take a device's push credentials (either may be absent) off the edge. */
  async revoke(credentials: { token: string | null; digestUsername: string | null }): Promise<void> {
    if (credentials.token) await this.revokePathToken(credentials.token);
    if (credentials.digestUsername) await this.removeDigestCredential(credentials.digestUsername);
  }

  /** HA1 and device of a Digest username, or null when unknown (or stored for another realm, so its HA1 cannot match). */
  async resolveDigestHa1(username: string): Promise<{ ha1: string; deviceId: string } | null> {
    if (username.length === 0 || username.length > 128) return null;
    const key = this.digestKey(username);
    return this.cached(key, async () => {
      const text = await this.redis.get(key);
      if (text === null) return null;
      const stored = JSON.parse(text) as StoredDigestCredential;
      return stored.realm === this.realm ? { ha1: stored.ha1, deviceId: stored.deviceId } : null;
    });
  }

  private tokenKey(token: string): string {
    return keyLayout(this.prefix).edgeToken(hashPathToken(token));
  }

  private digestKey(username: string): string {
    return keyLayout(this.prefix).edgeDigest(username);
  }

  /** Answers (unknown ones too) are kept for cacheMs; the cache is bounded so guessing tokens cannot grow it. */
  private async cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expiresAt > now) return hit.value as T;
    const value = await load();
    if (this.cacheMs > 0) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, { value, expiresAt: now + this.cacheMs });
    }
    return value;
  }
}

function checkUsername(username: string): void {
  if (!/^[\x21-\x7e]{1,128}$/.test(username) || username.includes('"') || username.includes('\\')) {
    throw new Error('a Digest username is 1 to 128 printable ASCII characters without quotes or backslashes');
  }
}
