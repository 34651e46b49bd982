import { Gauge, type Registry } from 'prom-client';
import { createPeriodicTask } from '../../libs/lifecycle/periodic-task.js';
import type { Logger } from '../../libs/logger/logger.js';
import { withTimeout } from '../../libs/redis/connection.js';
import { OUTAGE_DEPENDENCIES, type OutageDependency } from './outage-classification.js';

export type OutageProbes = Record<OutageDependency, () => Promise<unknown>>;

export interface OutageCircuit {
  /** True while any dependency is known to be unavailable: the archiver takes no job. */
  isOpen(): boolean;
  /** The first unavailable dependency (for labels and logs), or null. */
  openDependency(): OutageDependency | null;
  /**
   * A job failed with an error classified as an outage: probe at once (joining a probe already
   * running). True when a probe fails — the circuit is open until one passes; false when every
   * dependency answers after all (a blip, or an error that only looked like an outage).
   */
  trip(): Promise<boolean>;
  /** Called with true when the circuit opens and false when it closes again. */
  onChange(listener: (open: boolean) => void): void;
  /** Begin probing on the timer (the circuit only probes while it is open). */
  start(): void;
  stop(): Promise<void>;
}

/**
 * The archiver's circuit breaker for the things it cannot work without: Postgres and the
 * picture disk. Open while a probe of either fails; every `probeIntervalMs` while open, both
 * probes run and the circuit closes the moment both answer. Probes are shared: many jobs failing
 * at once cost one probe. State is per process: each replica sees its own disk.
 */
export function createOutageCircuit(options: {
  probes: OutageProbes;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  registry: Registry;
  logger: Logger;
}): OutageCircuit {
  const { probes, probeIntervalMs, probeTimeoutMs, logger } = options;
  const open = new Map<OutageDependency, { since: number }>();
  const listeners: ((open: boolean) => void)[] = [];
  const gauge = new Gauge({
    name: 'hikhub_archiver_circuit_open',
    help: 'Whether the archiver holds its jobs because a dependency is unavailable (1) or takes jobs (0), by dependency (postgres, pictures = DATA_DIR)',
    labelNames: ['dependency'] as const,
    registers: [options.registry],
  });
  for (const dependency of OUTAGE_DEPENDENCIES) gauge.set({ dependency }, 0);

  const markOpen = (dependency: OutageDependency, reason: unknown) => {
    if (open.has(dependency)) return;
    open.set(dependency, { since: Date.now() });
    gauge.set({ dependency }, 1);
    if (open.size === 1) for (const listener of listeners) listener(true);
    logger.error({ dependency, err: reason instanceof Error ? reason.message : reason }, 'dependency unavailable: archiver holds its jobs (no attempt spent) until a probe passes');
  };
  const markClosed = (dependency: OutageDependency) => {
    const state = open.get(dependency);
    if (!state) return;
    open.delete(dependency);
    gauge.set({ dependency }, 0);
    if (open.size === 0) for (const listener of listeners) listener(false);
    logger.warn({ dependency, outageMs: Date.now() - state.since }, 'dependency available again: archiver takes jobs');
  };

  let probing: Promise<void> | undefined;
  /** Both probes, once at a time: a failing one opens its dependency, a passing one closes it. */
  const probe = (): Promise<void> => {
    probing ??= Promise.all(
      OUTAGE_DEPENDENCIES.map((dependency) =>
        withTimeout(probes[dependency](), probeTimeoutMs).then(
          () => ({ dependency, error: undefined }),
          (error: unknown) => ({ dependency, error: error ?? new Error('probe failed') }),
        ),
      ),
    )
      .then((results) => {
        // Failures first, so the circuit never looks closed for a moment while one dependency is still away.
        for (const { dependency, error } of results) if (error !== undefined) markOpen(dependency, error);
        for (const { dependency, error } of results) if (error === undefined) markClosed(dependency);
      })
      .finally(() => {
        probing = undefined;
      });
    return probing;
  };

  const prober = createPeriodicTask({
    name: 'outage probe',
    intervalMs: probeIntervalMs,
    run: () => (open.size > 0 ? probe() : undefined),
    logger,
  });

  return {
    isOpen: () => open.size > 0,
    openDependency: () => open.keys().next().value ?? null,
    async trip() {
      await probe();
      return open.size > 0;
    },
    onChange: (listener) => listeners.push(listener),
    start: () => prober.start(),
    stop: () => prober.stop(),
  };
}
