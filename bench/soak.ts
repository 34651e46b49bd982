import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { EVENTS_QUEUE } from '../libs/jobs/events.js';
import { createQueue } from '../libs/jobs/queues.js';
import { createProducerConnection } from '../libs/redis/connection.js';
import { newIdPrefix } from '../tools/simulator/event-documents.js';
import type { PushResult } from '../tools/simulator/event-pusher.js';
import { createTestDatabaseUrl } from '../test/helpers/database.js';
import { repoRoot } from '../test/helpers/fixtures.js';
import { freePort } from '../test/helpers/redis-server.js';
import { ArchiveLatency, type LatencySummary } from './soak-latency.js';
import { queueTrend, SoakSampler, type QueueTrend, type SoakSample } from './soak-sampler.js';
import { progress, startIngest, startService, type Resources } from './support.js';

/**
 * Scenario `soak`: a simulated fleet (tools/simulator/fleet.ts) posts at a fixed total rate through
 * the real ingest → a private Redis → the real archiver process(es) → a fresh Postgres database.
 * Reported per run: whether the queue stayed bounded, the achieved rate and refusals, Redis memory
 * over time, and the latency from each event's 200 to its row being committed (LISTEN on the
 * archive's notification channel). `rates` runs short steps at increasing rates to find the
 * highest one this box holds; then one run of `durationS` at `rate` (or the highest held).
 */

export interface SoakOptions {
  resources: Resources;
  /** The private Redis (flushed between runs). */
  redis: Redis;
  redisUrl: string;
  devices: number;
  /** tools/simulator/fleet.ts mix, e.g. face-terminal=0.4,camera=0.4,nvr=0.2. */
  mix: string;
  heartbeatS: number;
  /** Sockets the pusher keeps open to the ingest at most (each device still posts one at a time). */
  connections: number;
  archivers: number;
  /** ARCHIVER_CONCURRENCY of each archiver. */
  concurrency: number;
  /** Search steps, increasing; the search stops at the first rate not held. */
  rates: number[];
  stepS: number;
  /** Rate of the full-length run; default the highest held step, else DEFAULT_RATE. */
  rate?: number;
  /** Length of the full run; 0 = steps only. */
  durationS: number;
}

export interface SoakRun {
  targetRate: number;
  durationS: number;
  /** When the pusher finished, in the samples' time (they start just before it). */
  loadEndedS: number;
  push: PushResult;
  /** Events sent per second of the run. */
  achievedRate: number;
  /** Event and heartbeat requests answered other than 2xx, plus network errors. */
  refused: number;
  latency: LatencySummary;
  samples: SoakSample[];
  /** The queue over the last half of the load. */
  lastHalf: QueueTrend;
  /** What the queue may grow over the last half and still count as bounded. */
  growthAllowance: number;
  redis: { maxUsedBytes: number; endUsedBytes: number; startUsedBytes: number };
  /** From the end of the load until the queue was empty and every acknowledged event archived; null if not within the limit. */
  drainSeconds: number | null;
  failedJobs: number;
  held: boolean;
  /** Why not held; empty when held. */
  problems: string[];
}

export interface SoakResult {
  devices: number;
  mix: string;
  heartbeatS: number;
  archivers: number;
  concurrency: number;
  connections: number;
  steps: SoakRun[];
  highestHeldRate: number | null;
  full?: SoakRun;
}

export const DEFAULT_RATE = 200;
const QUEUE_PREFIX = 'soak';
const SAMPLE_EVERY_MS = 1_000;
const WARMUP_RATE = 200;
const WARMUP_DRAIN_LIMIT_MS = 120_000;
const MIB = 2 ** 20;
const PROGRESS_EVERY_S = 10;

export async function benchSoak(options: SoakOptions): Promise<SoakResult> {
  const result: SoakResult = {
    devices: options.devices,
    mix: options.mix,
    heartbeatS: options.heartbeatS,
    archivers: options.archivers,
    concurrency: options.concurrency,
    connections: options.connections,
    steps: [],
    highestHeldRate: null,
  };
  if (options.rates.length) {
    // The steps share one system, so only the first pays for the warm-up; each drains before the next.
    const system = await SoakSystem.start(options);
    try {
      for (const rate of [...options.rates].sort((a, b) => a - b)) {
        progress(`soak step: ${rate} events/s for ${options.stepS} s`);
        const step = await system.run(rate, options.stepS);
        result.steps.push(step);
        if (!step.held) {
          progress(`  not held: ${step.problems.join('; ')}`);
          break;
        }
        result.highestHeldRate = rate;
      }
    } finally {
      await system.stop();
    }
  }
  if (options.durationS > 0) {
    const rate = options.rate ?? result.highestHeldRate ?? DEFAULT_RATE;
    const system = await SoakSystem.start(options);
    try {
      progress(`soak: ${rate} events/s for ${options.durationS} s`);
      result.full = await system.run(rate, options.durationS);
    } finally {
      await system.stop();
    }
  }
  return result;
}

/**
 * Ingest + archiver(s) on the flushed private Redis and a fresh database, and the fleet known to
 * them: a warm-up has every device send one event (first-seen devices cost the archiver a
 * registration each) and waits for it to be archived, so runs measure the steady state.
 */
class SoakSystem {
  /** Every run's devices are the same ones (same prefix), and their serials count on. */
  private readonly idPrefix = newIdPrefix();
  private serialNoAfter = 0;

  private constructor(
    private readonly options: SoakOptions,
    private readonly database: { url: string },
    private readonly ingestUrl: string,
    private readonly queue: Queue,
    /** What start() started, stopped last-in first-out. */
    private readonly releases: (() => Promise<void>)[],
  ) {}

  static async start(options: SoakOptions): Promise<SoakSystem> {
    const { resources, redis, redisUrl } = options;
    const releases: (() => Promise<void>)[] = [];
    let started = false;
    try {
      await redis.flushall('SYNC');
      const database = await createTestDatabaseUrl('soak');
      releases.push(resources.defer(`database ${database.name}`, () => database.drop()));
      const dataDir = await mkdtemp(join(tmpdir(), 'hikhub-soak-data-'));
      releases.push(resources.defer(`data dir ${dataDir}`, () => rm(dataDir, { recursive: true, force: true })));
      // One after the other: the first migrates the fresh database.
      for (let index = 0; index < options.archivers; index++) {
        const metricsPort = await freePort();
        const env = {
          REDIS_URL: redisUrl,
          QUEUE_PREFIX,
          DATABASE_URL: database.url,
          DATA_DIR: dataDir,
          ARCHIVER_METRICS_PORT: String(metricsPort),
          ARCHIVER_CONCURRENCY: String(options.concurrency),
          LOG_LEVEL: 'warn',
        };
        releases.push((await startService(resources, `archiver ${index + 1}`, 'services/archiver/main.ts', env, `http://127.0.0.1:${metricsPort}/readyz`)).stop);
      }
      const ingest = await startIngest(resources, 'ingest', {
        redisUrl,
        queuePrefix: QUEUE_PREFIX,
        // The whole fleet posts from one loopback address here, unlike devices in the field.
        env: { INGEST_MAX_CONNECTIONS_PER_ADDRESS: '0' },
      });
      releases.push(ingest.stop);
      const queueConnection = createProducerConnection(redisUrl, 'hikhub-bench-soak-sampler');
      queueConnection.on('error', () => {});
      const queue = createQueue(EVENTS_QUEUE, queueConnection, QUEUE_PREFIX);
      releases.push(
        resources.defer('soak queue connection', async () => {
          await queue.close();
          queueConnection.disconnect();
        }),
      );
      const system = new SoakSystem(options, database, `http://127.0.0.1:${ingest.port}/hikvision/events`, queue, releases);
      await system.warmUp();
      started = true;
      return system;
    } finally {
      // A started system stops itself (stop()); one that failed to start is stopped here.
      if (!started) for (const release of releases.reverse()) await release();
    }
  }

  async stop(): Promise<void> {
    for (const release of this.releases.splice(0).reverse()) await release();
    await this.options.redis.flushall('SYNC').catch(() => {});
  }

  private async warmUp(): Promise<void> {
    const { devices } = this.options;
    progress(`soak warm-up: each of the ${devices} devices sends one event at ${WARMUP_RATE}/s, then the queue drains`);
    const push = await this.push({ rate: WARMUP_RATE, count: devices });
    if (push.accepted < push.events) throw new Error(`soak warm-up: ${push.events - push.accepted} of ${push.events} events refused: ${JSON.stringify(push.statusCounts)}`);
    const started = performance.now();
    while ((await this.queueLength()) > 0) {
      if (performance.now() - started > WARMUP_DRAIN_LIMIT_MS) throw new Error(`soak warm-up: queue not drained in ${WARMUP_DRAIN_LIMIT_MS / 1000} s`);
      await sleep(250);
    }
    progress(`  warm-up drained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  private async queueLength(): Promise<number> {
    const counts = await this.queue.getJobCounts('wait', 'prioritized', 'delayed', 'active');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  private async push(load: { rate: number; durationS?: number; count?: number }, hooks?: Pick<PusherOptions, 'onAnswer' | 'onTick'>): Promise<PushResult> {
    const push = await runPusher(this.options.resources, {
      url: this.ingestUrl,
      devices: this.options.devices,
      heartbeatS: this.options.heartbeatS,
      mix: this.options.mix,
      connections: this.options.connections,
      idPrefix: this.idPrefix,
      serialNoAfter: this.serialNoAfter,
      ...load,
      ...hooks,
    });
    // No device sent more events than the run did: the next run's serials start past them all.
    this.serialNoAfter += push.events;
    return push;
  }

  /** One measured run at `rate` for `durationS`, then the drain. */
  async run(rate: number, durationS: number): Promise<SoakRun> {
    const { resources, redis } = this.options;
    const latency = await ArchiveLatency.listen(this.database.url);
    const closeLatency = resources.defer('soak LISTEN connection', () => latency.close());
    try {
      let acknowledged = 0;
      const startUsedBytes = usedMemory(await redis.info('memory'));
      const sampler = new SoakSampler(this.queue, redis, () => ({ acknowledged, archived: latency.archivedCount })).start(SAMPLE_EVERY_MS);
      const push = await this.push(
        { rate, durationS },
        {
          onAnswer: (status, answeredAtMs, eventId) => {
            if (status < 200 || status >= 300 || eventId === undefined) return;
            acknowledged += 1;
            latency.onAcknowledged(eventId, answeredAtMs);
          },
          onTick: () => {
            const last = sampler.samples.at(-1);
            if (last) progress(`  ${last.atS.toFixed(0)} s: queue ${last.waiting + last.active}, Redis ${(last.usedMemoryBytes / MIB).toFixed(1)} MiB, ${acknowledged} acknowledged, ${last.archived} archived`);
          },
        },
      );
      const atLoadEnd = await sampler.sample();
      const loadEndedS = atLoadEnd.atS;

      // Drain: the backlog left when the load stops says how far behind the archive was.
      const drainLimitS = drainLimitFor(durationS);
      const drainStarted = performance.now();
      let drainSeconds: number | null = null;
      while ((performance.now() - drainStarted) / 1000 < drainLimitS) {
        const now = await sampler.sample();
        if (now.waiting + now.active === 0 && latency.outstanding === 0) {
          drainSeconds = (performance.now() - drainStarted) / 1000;
          break;
        }
        await sleep(250);
      }
      await sampler.stop();
      const failedJobs = (await this.queue.getJobCounts('failed')).failed ?? 0;
      const summary = latency.summary();

      const loadSamples = sampler.samples.filter((sample) => sample.atS <= loadEndedS);
      const lastHalf = queueTrend(loadSamples, loadEndedS / 2, loadEndedS);
      const refused = push.networkErrors + Object.entries(push.statusCounts).reduce((sum, [status, n]) => (Number(status) >= 200 && Number(status) < 300 ? sum : sum + n), 0);
      const achievedRate = push.events / (push.elapsedMs / 1000);
      // Bounded: over the last half the queue grew less than one second's worth of events (or 100).
      const growthAllowance = Math.max(rate, 100);
      const problems: string[] = [];
      if (refused > 0) problems.push(`${refused} requests refused or failed`);
      if (achievedRate < 0.95 * rate) problems.push(`achieved ${Math.round(achievedRate)} of ${rate} events/s`);
      if (!(lastHalf.growth <= growthAllowance)) problems.push(`queue grew by ${Math.round(lastHalf.growth)} over the last half (allowed ${growthAllowance})`);
      if (failedJobs > 0) problems.push(`${failedJobs} jobs failed`);
      if (drainSeconds === null) problems.push(`not drained ${drainLimitS} s after the load`);
      if (summary.notArchived > 0) problems.push(`${summary.notArchived} acknowledged events not archived`);
      const run: SoakRun = {
        targetRate: rate,
        durationS,
        loadEndedS,
        push,
        achievedRate,
        refused,
        latency: summary,
        samples: sampler.samples,
        lastHalf,
        growthAllowance,
        redis: { startUsedBytes, maxUsedBytes: Math.max(...loadSamples.map((sample) => sample.usedMemoryBytes)), endUsedBytes: atLoadEnd.usedMemoryBytes },
        drainSeconds,
        failedJobs,
        held: problems.length === 0,
        problems,
      };
      progress(
        `  ${Math.round(achievedRate)} events/s sent, refused ${refused}, queue growth over the last half ${Math.round(lastHalf.growth)} (mean ${Math.round(lastHalf.meanLength)}), ` +
          `200 → row p50 ${summary.p50Ms.toFixed(0)} ms p99 ${summary.p99Ms.toFixed(0)} ms max ${summary.maxMs.toFixed(0)} ms, drained in ${drainSeconds?.toFixed(1) ?? '–'} s: ${run.held ? 'held' : 'NOT held'}`,
      );
      return run;
    } finally {
      await closeLatency();
    }
  }
}

const usedMemory = (info: string) => Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
/** How long a run's backlog may take to drain before the run counts as not held. */
const drainLimitFor = (durationS: number) => Math.max(60, durationS / 2);

interface PusherOptions {
  url: string;
  devices: number;
  rate: number;
  durationS?: number;
  count?: number;
  idPrefix: string;
  serialNoAfter: number;
  heartbeatS: number;
  mix: string;
  connections: number;
  onAnswer?: (status: number, answeredAtMs: number, eventId: string | undefined) => void;
  /** Called every PROGRESS_EVERY_S while the pusher runs. */
  onTick?: () => void;
}

/** bench/soak-pusher.ts in its own Node process; killed by its pid if it overruns by 60 s or the bench is interrupted. */
async function runPusher(resources: Resources, options: PusherOptions): Promise<PushResult> {
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'bench/soak-pusher.ts',
      '--url', options.url,
      '--devices', String(options.devices),
      '--rate', String(options.rate),
      ...(options.durationS !== undefined ? ['--duration-s', String(options.durationS)] : []),
      ...(options.count !== undefined ? ['--count', String(options.count)] : []),
      '--id-prefix', options.idPrefix,
      '--serial-no-after', String(options.serialNoAfter),
      '--heartbeat-s', String(options.heartbeatS),
      '--fleet', options.mix,
      '--connections', String(options.connections),
    ],
    { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let result: PushResult | undefined;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-10_000)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('a ')) {
      const [, status, answeredAtMs, eventId] = line.split(' ');
      options.onAnswer?.(Number(status), Number(answeredAtMs), eventId === '-' ? undefined : eventId);
    } else if (line.startsWith('r ')) {
      result = JSON.parse(line.slice(2)) as PushResult;
    }
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const release = resources.defer(`soak pusher pid ${child.pid}`, async () => {
    kill();
    await exited.catch(() => {});
  });
  // A count-bounded run (the warm-up) lasts count / rate.
  const expectedS = options.durationS ?? (options.count ?? 0) / options.rate;
  const overrun = setTimeout(kill, (expectedS + 60) * 1000);
  const ticker = setInterval(() => options.onTick?.(), PROGRESS_EVERY_S * 1000);
  try {
    const code = await exited;
    if (code !== 0 || !result) throw new Error(`soak pusher exited with ${code}:\n${stderr}`);
    return result;
  } finally {
    clearTimeout(overrun);
    clearInterval(ticker);
    await release();
  }
}

/** How long the soak may take at most (steps, the full run, their startups and drains): the bench's default deadline grows by this. */
export function soakBudgetS(options: Pick<SoakOptions, 'rates' | 'stepS' | 'durationS'>): number {
  // Per system: start + warm-up and its drain; per run: the load and its drain.
  const systemS = 60 + WARMUP_DRAIN_LIMIT_MS / 1000;
  const runS = (durationS: number) => durationS + drainLimitFor(durationS) + 10;
  return (options.rates.length ? systemS + options.rates.length * runS(options.stepS) : 0) + (options.durationS > 0 ? systemS + runS(options.durationS) : 0);
}
