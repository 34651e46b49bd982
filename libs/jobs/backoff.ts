/**
 * Exponential backoff with full jitter (AWS architecture blog): a delay drawn uniformly
 * from [0, min(cap, base * 2^(attempt-1))]. Full jitter spreads a herd of retries
 * (a whole site coming back after an outage) instead of synchronising them.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(exponent, 30));
  return Math.floor(random() * ceiling);
}

/** The name under which workers register the strategy with BullMQ (`settings.backoffStrategy`). */
export const FULL_JITTER_BACKOFF = 'full-jitter';
