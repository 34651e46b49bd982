import type { Redis } from 'ioredis';

/**
 * Replay guard for the nonce count (`nc`) of Digest qop=auth requests, shared by every ingest
 * replica: a (nonce, nc) pair is accepted once, by any of them, until the nonce expires.
 *
 * One Redis key per nonce that was used (`<prefix>:edge:nonce:<nonce>`), one Lua call per request,
 * expiring with the nonce (never earlier: nothing is forgotten while the nonce is still taken). The
 * key is a bitmap: the highest count seen (u32) and one bit per count in a sliding window of the
 * last `window` counts, so out-of-order counts (a device with several connections) are accepted
 * once each. Memory per nonce grows with use up to 4 + window/8 bytes (516 B for 4,096) plus
 * Redis's per-key overhead (~100 B): a nonce used once (a fresh challenge per event) costs ~110 B.
 * A count older than the window is refused like a replay (the device gets `stale=true` and a fresh
 * nonce), never accepted because it was forgotten.
 */

const DEFAULT_WINDOW = 4_096;
const HIGHEST_BITS = 32;

// KEYS[1]: the nonce's key. ARGV: nc, window, remember-for ms. Returns 1 on first use, else 0.
const FIRST_USE = `
local key = KEYS[1]
local nc = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local highest = redis.call('BITFIELD', key, 'GET', 'u32', 0)[1]
if nc <= highest - window then return 0 end
if nc > highest then
  if nc - highest >= window then
    -- every remembered count has left the window
    redis.call('DEL', key)
  else
    -- counts entering the window reuse the bits of counts leaving it
    for c = highest + 1, nc - 1 do redis.call('SETBIT', key, ${HIGHEST_BITS} + c % window, 0) end
  end
  redis.call('BITFIELD', key, 'SET', 'u32', 0, nc)
elseif redis.call('GETBIT', key, ${HIGHEST_BITS} + nc % window) == 1 then
  return 0
end
redis.call('SETBIT', key, ${HIGHEST_BITS} + nc % window, 1)
redis.call('PEXPIRE', key, ARGV[3])
return 1
`;

type RedisWithNonceCount = Redis & { hikhubNonceFirstUse(key: string, nc: number, window: number, rememberMs: number): Promise<number> };

export class NonceReplayGuard {
  private readonly redis: RedisWithNonceCount;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly window = DEFAULT_WINDOW,
  ) {
    if (!('hikhubNonceFirstUse' in redis)) redis.defineCommand('hikhubNonceFirstUse', { numberOfKeys: 1, lua: FIRST_USE });
    this.redis = redis as RedisWithNonceCount;
  }

  /**
   * True the first time this nonce count is presented to any replica; false for a replay or a
   * count older than the window. `rememberMs`: how long the nonce may still be taken anywhere.
   * Rejects when Redis does not answer: the caller must then refuse (never accept unchecked).
   */
  async firstUse(nonce: string, nc: number, rememberMs: number): Promise<boolean> {
    if (!Number.isInteger(nc) || nc < 1 || nc > 0xffff_ffff) return false;
    return (await this.redis.hikhubNonceFirstUse(`${this.prefix}:edge:nonce:${nonce}`, nc, this.window, Math.max(1, Math.ceil(rememberMs)))) === 1;
  }
}

/** The nonce count of a Digest answer (1 to 8 hex digits, at least 1), or null when malformed. */
export function parseNonceCount(ncHex: string | undefined): number | null {
  if (ncHex === undefined || !/^[0-9a-f]{1,8}$/i.test(ncHex)) return null;
  const nc = Number.parseInt(ncHex, 16);
  return nc >= 1 ? nc : null;
}
