import { runServices } from '../../../libs/lifecycle/run-services.js';

/** An entry point whose one service throws from a timer after it started (lifecycle-uncaught.test.ts). */
await runServices('throws-uncaught', { LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: 5_000, SHUTDOWN_DRAIN_DELAY_MS: 0 }, [
  async () => {
    setTimeout(() => {
      throw new Error('a bug in an event callback');
    }, 50);
    return { name: 'thrower', drain: () => {}, stop: async () => {} };
  },
]);
