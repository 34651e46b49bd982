import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface SoakSample {
  /** Seconds since the load started. */
  atS: number;
  /** Jobs of the events queue waiting (incl. prioritized and delayed) and being processed. */
  waiting: number;
  active: number;
  /** Redis INFO used_memory. */
  usedMemoryBytes: number;
  acknowledged: number;
  archived: number;
}

/**
 * Samples the events queue and Redis memory once per `everyMs` while the load runs; the counts of
 * acknowledged and archived events come from the caller (the pusher's answers, the LISTEN side).
 */
export class SoakSampler {
  readonly samples: SoakSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private readonly startedAt = performance.now();

  constructor(
    private readonly queue: Queue,
    private readonly redis: Redis,
    private readonly counts: () => { acknowledged: number; archived: number },
  ) {}

  start(everyMs: number): this {
    this.timer = setInterval(() => {
      // One sample at a time: a slow Redis stretches the interval instead of piling up reads.
      this.sampling = this.sampling.then(async () => void (await this.sample())).catch(() => {});
    }, everyMs);
    return this;
  }

  async sample(): Promise<SoakSample> {
    const [counts, memory] = await Promise.all([this.queue.getJobCounts('wait', 'prioritized', 'delayed', 'active'), this.redis.info('memory')]);
    const sample: SoakSample = {
      atS: (performance.now() - this.startedAt) / 1000,
      waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
      active: counts.active ?? 0,
      usedMemoryBytes: Number(/used_memory:(\d+)/.exec(memory)?.[1] ?? NaN),
      ...this.counts(),
    };
    this.samples.push(sample);
    return sample;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
  }
}

export interface QueueTrend {
  /** Least-squares slope of waiting + active over the window, jobs per second. */
  slopePerSecond: number;
  /** slope × window length: how much the queue grew over the window. */
  growth: number;
  meanLength: number;
  maxLength: number;
}

/** The queue's trend over the samples taken in [fromS, toS]. */
export function queueTrend(samples: readonly SoakSample[], fromS: number, toS: number): QueueTrend {
  const window = samples.filter((sample) => sample.atS >= fromS && sample.atS <= toS);
  const lengths = window.map((sample) => sample.waiting + sample.active);
  const n = window.length;
  if (n < 2) return { slopePerSecond: NaN, growth: NaN, meanLength: lengths[0] ?? NaN, maxLength: lengths[0] ?? NaN };
  const meanT = window.reduce((sum, sample) => sum + sample.atS, 0) / n;
  const meanLength = lengths.reduce((sum, length) => sum + length, 0) / n;
  let covariance = 0;
  let variance = 0;
  window.forEach((sample, index) => {
    covariance += (sample.atS - meanT) * (lengths[index]! - meanLength);
    variance += (sample.atS - meanT) ** 2;
  });
  const slopePerSecond = variance > 0 ? covariance / variance : 0;
  return { slopePerSecond, growth: slopePerSecond * (toS - fromS), meanLength, maxLength: Math.max(...lengths) };
}
