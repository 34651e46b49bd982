import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from './fixtures.js';

/**
 * A hikhub entry point (services/<name>/main.ts) in a child process, started the way a container
 * starts it. Stopped by its own pid: SIGTERM for a graceful stop, SIGKILL for a crash.
 */
export class ServiceProcess {
  private output = '';
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => this.append(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.append(chunk));
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(entry: string, env: Record<string, string>): ServiceProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', TZ: process.env.TZ ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get logs(): string {
    return this.output;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  private append(chunk: Buffer): void {
    // Keep the tail only: enough to explain a failure, bounded in memory.
    this.output = (this.output + chunk.toString()).slice(-200_000);
  }

  async waitReady(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`service exited before becoming ready:\n${this.output}`);
      try {
        if ((await fetch(url)).status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`service not ready at ${url} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGTERM and wait for the exit; returns the exit code. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.exited) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const { code } = await this.exit;
    clearTimeout(timer);
    return code;
  }

  /** SIGKILL: the process dies where it stands, as in an OOM kill or a node failure. */
  async crash(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    await this.exit;
  }
}
