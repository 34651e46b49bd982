import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createPeriodicTask } from '../../libs/lifecycle/periodic-task.js';

/** A real pino logger whose JSON lines are kept for the test to read. */
function capturedLogger() {
  const lines: { level: number; msg: string; task?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('periodic task', () => {
  it('ticks on its interval and never runs two ticks at once', async () => {
    const { logger } = capturedLogger();
    let running = 0;
    let maxRunning = 0;
    let ticks = 0;
    const task = createPeriodicTask({
      name: 'busy',
      intervalMs: 1,
      logger,
      run: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        ticks += 1;
      },
    });
    task.start();
    // Asked from outside while ticking: joins the running tick instead of starting another.
    for (let i = 0; i < 20; i += 1) void task.runNow();
    await until(() => ticks >= 5);
    await task.stop();
    expect(maxRunning).toBe(1);
  });

  it('logs a failing tick as "<name> failed" and keeps ticking', async () => {
    const { logger, lines } = capturedLogger();
    let calls = 0;
    const task = createPeriodicTask({
      name: 'flaky sweep',
      intervalMs: 1,
      logger,
      run: () => {
        calls += 1;
        if (calls <= 2) throw new Error(`boom ${calls}`); // synchronous throws too
      },
    });
    await expect(task.runNow()).resolves.toBeUndefined();
    task.start();
    await until(() => calls >= 4);
    await task.stop();
    const failures = lines.filter((line) => line.msg === 'flaky sweep failed');
    expect(failures).toHaveLength(2);
    expect(failures.every((line) => line.level === 40 && line.task === 'flaky sweep')).toBe(true);
  });

  it('runs at once when asked, and stop waits for the running tick, after which none starts', async () => {
    const { logger } = capturedLogger();
    const gate = deferred();
    let started = 0;
    let finished = 0;
    const task = createPeriodicTask({
      name: 'slow',
      intervalMs: 1,
      logger,
      run: async () => {
        started += 1;
        await gate.promise;
        finished += 1;
      },
    });
    task.start({ immediately: true });
    expect(started).toBe(1);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toBe(1);
    // A final run after stop (a last flush) is still possible, once.
    await task.runNow();
    expect(finished).toBe(2);
  });
});
