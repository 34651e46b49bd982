import type { Logger } from '../logger/logger.js';

export interface PeriodicTask {
  /** Start ticking every `intervalMs` (and once at once when `immediately`); a second start is ignored. */
  start(options?: { immediately?: boolean }): void;
  /** Run a tick now, or join the one already running (ticks never overlap); never rejects. */
  runNow(): Promise<void>;
  /** No more ticks; resolves once a running tick has finished. */
  stop(): Promise<void>;
}

/**
 * Work a service repeats on a timer (sweeps, flushes, probes, schedule syncs). Ticks never
 * overlap: the next one is scheduled `intervalMs` after the previous one ends. A failing tick is
 * logged (`<name> failed`) and the next one runs as usual. Timers are unref'd: a task never keeps
 * the process alive, and `stop()` is how a service lets it finish cleanly.
 */
export function createPeriodicTask(options: { name: string; intervalMs: number; run: () => Promise<unknown> | unknown; logger: Logger }): PeriodicTask {
  const { name, intervalMs, run, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let started = false;
  let stopped = false;

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runNow(), intervalMs);
    timer.unref();
  };

  const tick = async () => {
    clearTimeout(timer);
    try {
      await run();
    } catch (error) {
      logger.warn({ err: error, task: name }, `${name} failed`);
    }
  };

  function runNow(): Promise<void> {
    // .finally runs asynchronously, so `running` is set before it is cleared, even for a synchronous run().
    running ??= tick().finally(() => {
      running = undefined;
      if (started) schedule();
    });
    return running;
  }

  return {
    start({ immediately = false } = {}) {
      if (started || stopped) return;
      started = true;
      if (immediately) void runNow();
      else schedule();
    },
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
