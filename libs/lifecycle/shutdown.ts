import type { Logger } from '../logger/logger.js';

type Handler = () => Promise<void> | void;

/**
 * Runs named shutdown steps in the order they were registered, once, on SIGTERM/SIGINT
 * or when asked. A step that hangs cannot keep the process alive past the deadline.
 */
export class ShutdownManager {
  private readonly steps: { name: string; run: Handler }[] = [];
  private shuttingDown: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  get isShuttingDown(): boolean {
    return this.shuttingDown !== undefined;
  }

  register(name: string, run: Handler): void {
    if (this.steps.some((step) => step.name === name)) throw new Error(`shutdown step "${name}" registered twice`);
    this.steps.push({ name, run });
  }

  /** Install signal handlers that shut down and then exit the process. */
  listen(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        this.logger.info({ signal }, 'shutdown requested');
        void this.shutdown().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  }

  shutdown(): Promise<void> {
    this.shuttingDown ??= this.runSteps();
    return this.shuttingDown;
  }

  private async runSteps(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      timer.unref();
    });
    const sequence = (async () => {
      for (const step of this.steps) {
        const started = Date.now();
        try {
          await step.run();
          this.logger.info({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
        } catch (error) {
          this.logger.error({ step: step.name, err: error }, 'shutdown step failed');
        }
      }
    })();
    const outcome = await Promise.race([sequence.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out');
      throw new Error('shutdown timed out');
    }
  }
}
