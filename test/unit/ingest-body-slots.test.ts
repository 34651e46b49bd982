import { describe, expect, it, vi } from 'vitest';
import { BodyRateGuard } from '../../services/ingest/body-rate-guard.js';
import { BodySlots } from '../../services/ingest/body-slots.js';
import { InflightBudget } from '../../services/ingest/read-body.js';

describe('body slots', () => {
  it('gives each address a bounded share of slots, and the process its total', () => {
    const slots = new BodySlots({ maxBodies: 5, maxBodiesPerAddress: 2, maxBytesPerAddress: 0 }, new InflightBudget(1_000));
    const a1 = slots.acquire('10.0.0.1');
    const a2 = slots.acquire('10.0.0.1');
    expect(slots.acquire('10.0.0.1')).toBe('address_share');
    const others = [slots.acquire('10.0.0.2'), slots.acquire('10.0.0.2'), slots.acquire('10.0.0.3')];
    expect(slots.inFlight).toBe(5);
    expect(slots.acquire('10.0.0.4')).toBe('overloaded');
    if (typeof a1 === 'string' || typeof a2 === 'string') throw new Error('expected slots');
    a1.close();
    a1.close(); // closing twice frees one slot only
    expect(slots.inFlight).toBe(4);
    expect(typeof slots.acquire('10.0.0.1')).toBe('object');
    for (const slot of [a2, ...others]) if (typeof slot !== 'string') slot.close();
  });

  it('bounds the bytes one address holds, within the process budget', () => {
    const budget = new InflightBudget(1_000);
    const slots = new BodySlots({ maxBodies: 10, maxBodiesPerAddress: 0, maxBytesPerAddress: 300 }, budget);
    const first = slots.acquire('10.0.0.1');
    const second = slots.acquire('10.0.0.1');
    const other = slots.acquire('10.0.0.2');
    if (typeof first === 'string' || typeof second === 'string' || typeof other === 'string') throw new Error('expected slots');
    expect(first.tryReserve(200)).toBe(true);
    expect(second.tryReserve(200)).toBe(false); // 400 > the address's 300
    expect(second.tryReserve(100)).toBe(true);
    expect(other.tryReserve(300)).toBe(true); // another address has its own share
    expect(budget.bytes).toBe(600);
    first.release(200);
    expect(second.tryReserve(200)).toBe(true);
    expect(other.tryReserve(500)).toBe(false); // past its own share, whatever the process budget
    second.release(300);
    other.release(300);
    expect(budget.bytes).toBe(0);
  });
});

describe('body rate guard', () => {
  it('cuts a body that stays below the rate for a window, and leaves a fast one alone', () => {
    vi.useFakeTimers();
    try {
      const guard = new BodyRateGuard(100, 1_000);
      let slowBytes = 0;
      let fastBytes = 0;
      const cut: string[] = [];
      guard.watch({ received: () => slowBytes, tooSlow: () => cut.push('slow') });
      guard.watch({ received: () => fastBytes, tooSlow: () => cut.push('fast') });
      for (let tick = 0; tick < 12; tick++) {
        slowBytes += 5; // 20 B/s
        fastBytes += 50; // 200 B/s
        vi.advanceTimersByTime(250);
      }
      expect(cut).toEqual(['slow']);
      guard.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('never cuts anything when the minimum rate is 0', () => {
    const guard = new BodyRateGuard(0, 1_000);
    const watch = guard.watch({ received: () => 0, tooSlow: () => expect.unreachable() });
    expect(watch).toBeNull();
    guard.unwatch(watch);
    guard.stop();
  });
});
