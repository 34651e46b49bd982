import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { freePort } from '../helpers/redis-server.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromRule {
  name: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  state?: string;
}

/**
 * A real Prometheus (the Debian package's binary) in a temp directory on a free loopback port,
 * scraping the given targets every second and evaluating the given rule files every second.
 * Stopped by its own pid.
 */
export class PrometheusServer {
  private output = '';
  private exit: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => this.append(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.append(chunk));
    this.exit = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(options: { jobs: Record<string, number>; ruleFiles: string[] }): Promise<PrometheusServer> {
    const dir = await mkdtemp(path.join(tmpdir(), 'hikhub-prometheus-'));
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: options.ruleFiles,
      scrape_configs: Object.entries(options.jobs).map(([job, port]) => ({ job_name: job, static_configs: [{ targets: [`127.0.0.1:${port}`] }] })),
    };
    const configFile = path.join(dir, 'prometheus.yml');
    await writeFile(configFile, toYaml(config));
    const port = await freePort();
    const child = spawn(
      PROMETHEUS_BIN,
      [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new PrometheusServer(child, port, dir);
    await server.waitReady();
    return server;
  }

  get logs(): string {
    return this.output;
  }

  private append(chunk: Buffer): void {
    this.output = (this.output + chunk.toString()).slice(-50_000);
  }

  private async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`prometheus exited:\n${this.output}`);
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/-/ready`)).status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async api<T>(pathAndQuery: string): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${this.port}${pathAndQuery}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${pathAndQuery}: ${body.error ?? response.status}`);
    return body.data;
  }

  /** An instant query now; rejects on a PromQL error. */
  async query(expr: string): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: PromSample[] | [number, string] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    // A scalar result (e.g. `vector(1) > bool 0` unwrapped) counts as one sample.
    return data.resultType === 'scalar' ? [{ metric: {}, value: data.result as [number, string] }] : (data.result as PromSample[]);
  }

  async rules(): Promise<PromRule[]> {
    const data = await this.api<{ groups: { rules: PromRule[] }[] }>('/api/v1/rules');
    return data.groups.flatMap((group) => group.rules);
  }

  /** Alerts pending or firing now. */
  async alerts(): Promise<{ labels: Record<string, string>; state: string }[]> {
    return (await this.api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts;
  }

  async targets(): Promise<{ labels: Record<string, string>; health: string; lastError: string }[]> {
    return (await this.api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>('/api/v1/targets')).activeTargets;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exit;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
