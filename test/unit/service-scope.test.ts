import { describe, expect, it } from 'vitest';
import { createLogger } from '../../libs/logger/logger.js';
import { createPeriodicTask } from '../../libs/lifecycle/periodic-task.js';
import { startService } from '../../libs/lifecycle/service-scope.js';

const logger = createLogger('test', 'silent');

describe('service scope', () => {
  it('stops in reverse order, once, every step even after one fails', async () => {
    const order: string[] = [];
    const service = await startService('demo', logger, async (scope) => {
      scope.onStop('database', () => order.push('database'));
      scope.onStop('redis', () => {
        order.push('redis');
        throw new Error('quit failed');
      });
      scope.onStop('worker', async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push('worker');
      });
      return { port: 1234 };
    });
    expect(service).toMatchObject({ name: 'demo', port: 1234 });
    await Promise.all([service.stop(), service.stop()]);
    await service.stop();
    expect(order).toEqual(['worker', 'redis', 'database']);
  });

  it('stops what was started when start-up fails half-way, then rethrows', async () => {
    const order: string[] = [];
    let ticks = 0;
    await expect(
      startService('demo', logger, async (scope) => {
        scope.onStop('database', () => order.push('database'));
        scope.task('sweep', createPeriodicTask({ name: 'sweep', intervalMs: 1, run: () => void (ticks += 1), logger }), { immediately: true });
        scope.onStop('queue', () => order.push('queue'));
        throw new Error('port in use');
      }),
    ).rejects.toThrow('port in use');
    expect(order).toEqual(['queue', 'database']);
    const afterStop = ticks;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ticks).toBe(afterStop);
  });

  it('is ready only while every check passes and until it drains', async () => {
    let redisUp = true;
    let scopeReady: (() => Promise<boolean>) | undefined;
    const service = await startService('demo', logger, async (scope) => {
      scope.readyWhen(() => redisUp);
      scope.readyWhen(async () => true);
      scopeReady = () => scope.ready();
      return {};
    });
    expect(await scopeReady!()).toBe(true);
    redisUp = false;
    expect(await scopeReady!()).toBe(false);
    redisUp = true;
    service.drain();
    expect(await scopeReady!()).toBe(false);
    await service.stop();
  });
});
