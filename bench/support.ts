import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { repoRoot } from '../test/helpers/fixtures.js';
import { freePort } from '../test/helpers/redis-server.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import type { LoadResult } from './load.js';

/** Progress goes to stderr so stdout carries only the results (table, or JSON with --json). */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Everything a benchmark starts (processes, servers, connections, databases, temp dirs) registers
 * its stop here; `closeAll` runs them last-in first-out, also when a scenario throws.
 */
export class Resources {
  private readonly stack: { name: string; close: () => Promise<unknown> | unknown }[] = [];

  defer(name: string, close: () => Promise<unknown> | unknown): () => Promise<void> {
    const entry = { name, close };
    this.stack.push(entry);
    // Closing early (the normal path) removes the entry so closeAll does not repeat it. A failure
    // is reported, not thrown, so it cannot hide the error that led to the cleanup.
    return async () => {
      const index = this.stack.indexOf(entry);
      if (index === -1) return;
      this.stack.splice(index, 1);
      await Resources.closeOne(entry);
    };
  }

  async closeAll(): Promise<void> {
    while (this.stack.length) {
      await Resources.closeOne(this.stack.pop()!);
    }
  }

  private static async closeOne(entry: { name: string; close: () => Promise<unknown> | unknown }): Promise<void> {
    try {
      await entry.close();
    } catch (error) {
      progress(`cleanup of ${entry.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** What bench/run.ts gives each load scenario (ingest vs floor, Digest on vs off). */
export interface LoadScenarioOptions {
  resources: Resources;
  /** A connection to the private Redis at `redisUrl`, for flushing and checks between runs. */
  redis: Redis;
  redisUrl: string;
  workDir: string;
  rounds: number;
  connections: number;
  warmupS: number;
  durationS: number;
}

/**
 * Starts `entry` (a services/<name>/main.ts or a bench server) in its own process, registered with
 * `resources`, and resolves once `readyUrl` answers 200 (30 s at most). `stop` stops it early.
 */
export async function startService(
  resources: Resources,
  name: string,
  entry: string,
  env: Record<string, string>,
  readyUrl: string,
): Promise<{ service: ServiceProcess; stop: () => Promise<void> }> {
  const service = ServiceProcess.start(entry, env);
  const stop = resources.defer(`${name} pid ${service.pid}`, () => service.stop(10_000));
  await service.waitReady(readyUrl, 30_000);
  return { service, stop };
}

/**
 * The real ingest process on free ports, on `redisUrl` under `queuePrefix`, ready when this
 * resolves. The per-address rate limit is off: one load generator on one address far outruns any
 * device and would be answered 429. `env` adds to or overrides the rest.
 */
export async function startIngest(
  resources: Resources,
  name: string,
  options: { redisUrl: string; queuePrefix: string; env?: Record<string, string> },
): Promise<{ port: number; metricsPort: number; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const metricsPort = await freePort();
  const env = {
    INGEST_HOST: '127.0.0.1',
    INGEST_PORT: String(port),
    INGEST_METRICS_PORT: String(metricsPort),
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: options.queuePrefix,
    LOG_LEVEL: 'warn',
    INGEST_RATE_PER_ADDRESS: '0',
    ...options.env,
  };
  const { service, stop } = await startService(resources, name, 'services/ingest/main.ts', env, `http://127.0.0.1:${metricsPort}/readyz`);
  return { port, metricsPort, pid: service.pid!, stop };
}

/**
 * Runs bench/load.ts in its own Node process against `url` and returns its result. The child is
 * registered with `resources` (killed by its pid if the bench is interrupted) and SIGKILLed if it
 * overruns warm-up + duration by 30 s.
 */
export async function runLoad(
  resources: Resources,
  options: { url: string; bodyFile: string; contentType: string; connections: number; warmupS: number; durationS: number; extraArgs?: string[] },
): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'bench/load.ts',
      ...(options.extraArgs ?? []),
      '--url', options.url,
      '--body', options.bodyFile,
      '--content-type', options.contentType,
      '--connections', String(options.connections),
      '--warmup', String(options.warmupS),
      '--duration', String(options.durationS),
    ],
    { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-10_000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const release = resources.defer(`load generator pid ${child.pid}`, async () => {
    kill();
    await exited.catch(() => {});
  });
  const timer = setTimeout(kill, (options.warmupS + options.durationS + 30) * 1000);
  try {
    const code = await exited;
    if (code !== 0) throw new Error(`load generator exited with ${code}:\n${stderr}`);
    const line = stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as LoadResult;
  } finally {
    clearTimeout(timer);
    await release();
  }
}

/** Sum of every sample of `metric` (all label sets) in a Prometheus text page; null when unreachable. */
export async function scrapeMetricSum(url: string, metric: string): Promise<number | null> {
  let text: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (response.status !== 200) return null;
    text = await response.text();
  } catch {
    return null;
  }
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** CPU seconds (user + system) a process has used so far (Linux /proc, clock ticks at 100 Hz). */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds (user + system) the Redis server has used so far, from INFO cpu. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** A plain-text table: right-aligns cells that look numeric. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const numeric = (cell: string) => /^[-+]?[\d,.]+( ?[×%a-zA-Z/]*)?$/.test(cell);
  const render = (row: string[]) =>
    row
      .map((cell, column) => (numeric(cell) && column > 0 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(render)].join('\n');
}

export const fmt = {
  int: (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–'),
  ms: (value: number) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : '–'),
  ratio: (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–'),
  s: (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '–'),
};
