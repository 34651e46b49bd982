import { spawn } from 'node:child_process';
import { repoRoot } from '../test/helpers/fixtures.js';
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

/**
 * Runs bench/load.ts in its own Node process against `url` and returns its result. The child is
 * registered with `resources` (killed by its pid if the bench is interrupted) and SIGKILLed if it
 * overruns warm-up + duration by 30 s.
 */
export async function runLoad(
  resources: Resources,
  options: { url: string; bodyFile: string; contentType: string; connections: number; warmupS: number; durationS: number; script?: string; extraArgs?: string[] },
): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', options.script ?? 'bench/load.ts',
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
