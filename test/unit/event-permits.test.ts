import { describe, expect, it } from 'vitest';
import { createEventPermits } from '../../services/archiver/event-permits.js';

describe('event permits (ARCHIVER_CONCURRENCY counts events)', () => {
  it('never runs more than the limit at once, serves waiters first come first served, and frees a permit when a task throws', async () => {
    const permits = createEventPermits(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const task = (n: number) =>
      permits.run(async () => {
        started.push(n);
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        if (n === 1) throw new Error('event 1 failed');
        return n;
      });
    const results = Array.from({ length: 10 }, (_, n) => task(n).catch((error: Error) => error.message));
    await new Promise((resolve) => setImmediate(resolve));
    expect(permits.state()).toEqual({ running: 3, waiting: 7 });
    // Release in order until every task ran; each release lets exactly the next waiter in.
    while (releases.length > 0 || started.length < 10) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(results)).toEqual([0, 'event 1 failed', 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
    expect(permits.state()).toEqual({ running: 0, waiting: 0 });
  });
});
