import type { RedisClient } from '../../libs/redis/connection.js';
import { keyLayout, type KeyLayout } from '../../libs/redis/key-layout.js';

export const AUTH_FAILURE_LIMIT = 2;
export const AUTH_FAILURE_WINDOW_MS = 30 * 60_000;

/**
 * The lockout guard: a device locks its whole IP out after a few bad logins, so hikhub spends
 * at most AUTH_FAILURE_LIMIT failed logins per device per window, counted in Redis so every
 * replica shares the budget. Requests to a device go one at a time (DeviceLocks), so checking
 * then recording cannot overshoot.
 */
export class AuthFailureBudget {
  private readonly keys: KeyLayout;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly limit = AUTH_FAILURE_LIMIT,
    private readonly windowMs = AUTH_FAILURE_WINDOW_MS,
  ) {
    this.keys = keyLayout(prefix);
  }

  private key(deviceId: string): string {
    return this.keys.authFailures(deviceId);
  }

  async record(deviceId: string, at = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.key(deviceId), at, `${at}-${Math.random().toString(36).slice(2)}`)
      .zremrangebyscore(this.key(deviceId), '-inf', at - this.windowMs)
      .pexpire(this.key(deviceId), this.windowMs)
      .exec();
  }

  async failuresInWindow(deviceId: string, now = Date.now()): Promise<number> {
    return this.redis.zcount(this.key(deviceId), now - this.windowMs, '+inf');
  }

  /** null when another login may be tried now; otherwise the time the oldest counted failure leaves the window. */
  async blockedUntil(deviceId: string, now = Date.now()): Promise<number | null> {
    const recent = await this.redis.zrangebyscore(this.key(deviceId), now - this.windowMs, '+inf', 'WITHSCORES');
    const scores = recent.filter((_, index) => index % 2 === 1).map(Number);
    if (scores.length < this.limit) return null;
    return (scores[scores.length - this.limit] ?? now) + this.windowMs;
  }
}
