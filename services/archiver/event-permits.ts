/**
 * A process-wide bound on events being archived at once (ARCHIVER_CONCURRENCY), whether they came
 * as single jobs or inside batch jobs: a body is read only under a permit, so however many batch
 * jobs the worker holds, at most `limit` bodies are in memory. First come, first served, so the
 * events of the oldest batch finish first and its job completes early.
 */
export function createEventPermits(limit: number) {
  let inUse = 0;
  const waiting: (() => void)[] = [];

  const acquire = (): Promise<void> => {
    if (inUse < limit) {
      inUse += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    // The permit passes straight to the next waiter, so a newcomer cannot overtake it.
    if (next) next();
    else inUse -= 1;
  };

  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      await acquire();
      try {
        return await task();
      } finally {
        release();
      }
    },
    /** Events running now and waiting for a permit (tests, debugging). */
    state: () => ({ running: inUse, waiting: waiting.length }),
  };
}

export type EventPermits = ReturnType<typeof createEventPermits>;
