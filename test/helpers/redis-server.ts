import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls PING until a freshly spawned redis-server (or sentinel) on the port answers, for up to 10 s. */
export async function waitUntilAnswering(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch {
      client.disconnect();
      if (Date.now() > deadline) throw new Error(`${what} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * A private redis-server on a free port, for tests that must stop, freeze or restart Redis —
 * never the shared instance. Stopped by its own pid.
 */
export class PrivateRedis {
  private process: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly aof: boolean,
    private readonly extraArgs: readonly string[] = [],
  ) {}

  /**
   * `aof: true` runs it as production should: append-only file, fsync every second. `args` are
   * further redis-server options (a cluster node's, a replica's), relative paths inside its own dir.
   */
  static async start(options: { aof?: boolean; args?: string[] } = {}): Promise<PrivateRedis> {
    const dir = await mkdtemp(join(tmpdir(), 'hikhub-redis-'));
    const redis = new PrivateRedis(await freePort(), dir, options.aof ?? false, options.args);
    await redis.launch();
    return redis;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async launch(): Promise<void> {
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', this.aof ? 'yes' : 'no', '--appendfsync', 'everysec', '--dir', this.dir, '--maxmemory-policy', 'noeviction', ...this.extraArgs], {
      stdio: 'ignore',
    });
    await waitUntilAnswering(this.port, 'private redis-server');
  }

  /** SIGSTOP: connections stay open but nothing answers — the "black hole" failure. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
