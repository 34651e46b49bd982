import type { RedisClient } from '../redis/connection.js';
import { keyLayout } from '../redis/key-layout.js';

/**
 * Replay guard for the nonce count (`nc`) of Digest qop=auth requests, shared by every ingest
 * replica: a (nonce, nc) pair is accepted once, by any of them, until the nonce expires. One Lua
 * call per request.
 *
 * State per used nonce: the highest count seen and the counts below it not used yet ("gaps", so
 * counts arriving out of order from a device's several connections are each taken once). Kept in
 * a Redis hash per second of issue and 64 sub-buckets (`<prefix>:edge:nonces:<issue s>:<c>`, c =
 * a random character of the nonce), field = the nonce's first 22 characters (issue time and random
 * part), value = `highest[:gap,gap…]`. Small hashes are stored packed (listpack), so a nonce used
 * once costs ~30 bytes instead of ~130 for a key of its own. The hash expires when its newest nonce
 * may no longer be taken by any replica, never earlier: nothing is forgotten while it counts.
 *
 * Memory is bounded per nonce: at most `maxGaps` gaps are kept; when a jump in counts would leave
 * more, the oldest are given up as used, so those counts are refused like a replay (the device
 * gets `stale=true` and a fresh nonce), never accepted because they were forgotten.
 */

const DEFAULT_MAX_GAPS = 128;
/** Every nonce issued within the same second shares a hash; the newest may be up to this much younger than the one at hand. */
const ISSUE_SLOT_MS = 1_000;
/** Length of the part of a nonce that identifies it: base64url of issue time (8 bytes) and random part (8 bytes). */
const NONCE_ID_CHARS = 22;
/** A character of the random part (base64url characters 11-20 come from its bytes alone): 64 values spread a busy second over 64 small hashes. */
const SUB_BUCKET_CHAR = 16;

// KEYS[1]: the hash. ARGV: nonce id, nc, max gaps, expire ms. Returns 1 on first use, else 0.
const FIRST_USE = `
local state = redis.call('HGET', KEYS[1], ARGV[1])
local nc = tonumber(ARGV[2])
local maxGaps = tonumber(ARGV[3])
local highest = 0
local gaps = {}
if state then
  local h, rest = string.match(state, '^(%d+):?(.*)$')
  highest = tonumber(h)
  for g in string.gmatch(rest, '%d+') do gaps[#gaps + 1] = tonumber(g) end
end
if nc > highest then
  -- counts skipped by this jump may still come; only the newest maxGaps are kept
  for c = math.max(highest + 1, nc - maxGaps), nc - 1 do gaps[#gaps + 1] = c end
  if #gaps > maxGaps then
    local kept = {}
    for i = #gaps - maxGaps + 1, #gaps do kept[#kept + 1] = gaps[i] end
    gaps = kept
  end
  highest = nc
else
  local found = nil
  for i, g in ipairs(gaps) do
    if g == nc then found = i break end
  end
  if not found then return 0 end
  table.remove(gaps, found)
end
local value = tostring(highest)
if #gaps > 0 then value = value .. ':' .. table.concat(gaps, ',') end
redis.call('HSET', KEYS[1], ARGV[1], value)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

type RedisWithNonceCount = RedisClient & { hikhubNonceFirstUse(key: string, id: string, nc: number, maxGaps: number, expireMs: number): Promise<number> };

export class NonceReplayGuard {
  private readonly redis: RedisWithNonceCount;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly maxGaps = DEFAULT_MAX_GAPS,
  ) {
    if (!('hikhubNonceFirstUse' in redis)) redis.defineCommand('hikhubNonceFirstUse', { numberOfKeys: 1, lua: FIRST_USE });
    this.redis = redis as RedisWithNonceCount;
  }

  /**
   * True the first time this count of this (genuine) nonce is presented to any replica; false for
   * a replay or a count given up. `issuedAt`: the nonce's issue time (ms); `rememberMs`: how long it
   * may still be taken anywhere. Rejects when Redis does not answer or refuses the write: the
   * caller must then refuse the request (never accept it unchecked).
   */
  async firstUse(nonce: string, issuedAt: number, nc: number, rememberMs: number): Promise<boolean> {
    if (!Number.isInteger(nc) || nc < 1 || nc > 0xffff_ffff) return false;
    const key = keyLayout(this.prefix).edgeNonces(Math.floor(issuedAt / ISSUE_SLOT_MS), nonce[SUB_BUCKET_CHAR] ?? '_');
    const expireMs = Math.max(1, Math.ceil(rememberMs)) + ISSUE_SLOT_MS;
    return (await this.redis.hikhubNonceFirstUse(key, nonce.slice(0, NONCE_ID_CHARS), nc, this.maxGaps, expireMs)) === 1;
  }
}

/** The nonce count of a Digest answer (1 to 8 hex digits, at least 1), or null when malformed. */
export function parseNonceCount(ncHex: string | undefined): number | null {
  if (ncHex === undefined || !/^[0-9a-f]{1,8}$/i.test(ncHex)) return null;
  const nc = Number.parseInt(ncHex, 16);
  return nc >= 1 ? nc : null;
}
