import { describe, expect, it } from 'vitest';
import { fullJitterDelay } from '../../libs/jobs/backoff.js';

describe('full-jitter backoff', () => {
  const policy = { baseMs: 1_000, capMs: 300_000 };

  it('draws from [0, base·2^(n-1)] and never beyond the cap', () => {
    expect(fullJitterDelay(1, policy, () => 0.999999)).toBe(999);
    expect(fullJitterDelay(3, policy, () => 0.5)).toBe(2_000);
    expect(fullJitterDelay(30, policy, () => 0.999999)).toBeLessThan(300_000);
    expect(fullJitterDelay(1_000, policy, () => 1)).toBe(300_000);
    expect(fullJitterDelay(5, policy, () => 0)).toBe(0);
  });

  it('spreads a herd of retries instead of synchronising them', () => {
    const delays = new Set(Array.from({ length: 50 }, () => fullJitterDelay(8, policy)));
    expect(delays.size).toBeGreaterThan(40);
  });
});
