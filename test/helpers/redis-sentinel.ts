import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, PrivateRedis, waitUntilAnswering } from './redis-server.js';
import { waitFor } from './wait.js';

const MASTER_NAME = 'hikhub-test';

/**
 * A private Sentinel setup on free loopback ports: a master, one replica and one sentinel
 * (quorum 1, enough for SENTINEL FAILOVER, which needs no agreement), each in its own temp dir.
 * Never the shared Redis; everything stopped by pid.
 */
export class PrivateSentinel {
  private constructor(
    readonly master: PrivateRedis,
    readonly replica: PrivateRedis,
    readonly port: number,
    private readonly sentinel: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(): Promise<PrivateSentinel> {
    const master = await PrivateRedis.start();
    const replica = await PrivateRedis.start({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    const dir = await mkdtemp(join(tmpdir(), 'hikhub-sentinel-'));
    const port = await freePort();
    // Sentinel rewrites its config file (known replicas, epochs): it lives in the temp dir.
    const config = join(dir, 'sentinel.conf');
    await writeFile(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        '',
      ].join('\n'),
    );
    const sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
    const setup = new PrivateSentinel(master, replica, port, sentinel, dir);
    try {
      await waitUntilAnswering(port, 'private sentinel');
      // A failover needs a replica the sentinel knows and that is in sync.
      await waitFor(async () => (await setup.replicaInSync()) || undefined, 20_000, 'sentinel to see an in-sync replica');
      return setup;
    } catch (error) {
      await setup.stop();
      throw error;
    }
  }

  /** What hikhub is given as REDIS_URL. */
  get url(): string {
    return `redis+sentinel://127.0.0.1:${this.port}/${MASTER_NAME}`;
  }

  private async ask<T>(...args: string[]): Promise<T> {
    const client = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      return (await client.call('SENTINEL', ...args)) as T;
    } finally {
      client.disconnect();
    }
  }

  /** The port of the master the sentinel currently names. */
  async masterPort(): Promise<number> {
    const [, port] = await this.ask<[string, string]>('get-master-addr-by-name', MASTER_NAME);
    return Number(port);
  }

  /** `master` or `slave`, as the server on the port says (INFO replication). */
  async role(port: number): Promise<string> {
    const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      return /^role:(\w+)/m.exec(await client.info('replication'))?.[1] ?? 'unknown';
    } finally {
      client.disconnect();
    }
  }

  private async replicaInSync(): Promise<boolean> {
    const replicas = await this.ask<string[][]>('replicas', MASTER_NAME);
    return replicas.some((fields) => {
      const info = Object.fromEntries(fields.flatMap((value, index) => (index % 2 === 0 ? [[value, fields[index + 1]]] : [])));
      return info.flags === 'slave' && info['master-link-status'] === 'ok';
    });
  }

  /** SENTINEL FAILOVER, then waits until the sentinel names the replica as master. */
  async failover(): Promise<void> {
    const before = await this.masterPort();
    await this.ask('failover', MASTER_NAME);
    await waitFor(async () => (await this.masterPort()) !== before, 20_000, 'sentinel to promote the replica');
  }

  async stop(): Promise<void> {
    const child = this.sentinel;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await Promise.all([this.master.stop(), this.replica.stop()]);
    await rm(this.dir, { recursive: true, force: true });
  }
}
