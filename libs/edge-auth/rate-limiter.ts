import type { RedisClient } from '../redis/connection.js';
import { withTimeout } from '../redis/connection.js';

/**
 * Rate limits shared by every ingest replica: GCRA (the token bucket as a single timestamp per
 * key) in one Lua script, so a check is one round trip and atomic across replicas. Time comes
 * from Redis (`TIME`), so replicas' clocks do not matter. Several keys (the source address and
 * the device) are checked together; a request is counted against all of them or none.
 */

export interface RateLimit {
  /** Redis key (under the queue prefix). */
  key: string;
  /** Sustained requests per second. */
  ratePerSecond: number;
  /** Requests allowed at once on top of the sustained rate (a backlog after a reconnect). */
  burst: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number } | { allowed: 'unknown'; error: Error };

// KEYS: one per limit. ARGV: per key, the emission interval and the burst tolerance, in ms.
// Returns 0 when allowed, else the ms until the request would be.
const GCRA = `
if redis.replicate_commands then redis.replicate_commands() end -- Redis < 7: allow TIME before writes
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tats = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local allow_at = tat + interval - tolerance
  if allow_at > now and allow_at - now > wait then wait = allow_at - now end
  tats[i] = tat + interval
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%.3f', tats[i]), 'PX', math.ceil(tats[i] - now) + 1000)
end
return 0
`;

type RedisWithGcra = RedisClient & { hikhubGcra(...args: (string | number)[]): Promise<number> };

export class RedisRateLimiter {
  private readonly redis: RedisWithGcra;

  constructor(
    redis: RedisClient,
    private readonly timeoutMs = 100,
  ) {
    if (!('hikhubGcra' in redis)) redis.defineCommand('hikhubGcra', { lua: GCRA });
    this.redis = redis as RedisWithGcra;
  }

  /** Counts one request against every limit (or none when one refuses). Redis trouble → `unknown`; the caller decides. */
  async take(limits: readonly RateLimit[]): Promise<RateDecision> {
    const active = limits.filter((limit) => limit.ratePerSecond > 0);
    if (active.length === 0) return { allowed: true };
    const args: (string | number)[] = [active.length];
    for (const limit of active) args.push(limit.key);
    for (const limit of active) {
      const interval = 1000 / limit.ratePerSecond;
      args.push(interval.toFixed(6), (interval * limit.burst).toFixed(6));
    }
    try {
      const wait = await withTimeout(this.redis.hikhubGcra(...args), this.timeoutMs);
      return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
    } catch (error) {
      return { allowed: 'unknown', error: error as Error };
    }
  }
}
