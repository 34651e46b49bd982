import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, PrivateRedis } from './redis-server.js';

const run = promisify(execFile);

/**
 * A private Redis Cluster of `masters` redis-server processes (no replicas) on free loopback
 * ports, each in its own temp dir, joined with `redis-cli --cluster create`. Never the shared
 * Redis; stopped by pid. The cluster bus port is chosen too (port + 10000 may not exist).
 */
export class PrivateRedisCluster {
  private constructor(readonly nodes: PrivateRedis[]) {}

  static async start(masters = 3): Promise<PrivateRedisCluster> {
    const nodes: PrivateRedis[] = [];
    try {
      for (let i = 0; i < masters; i += 1) {
        const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(await freePort()), '--cluster-node-timeout', '2000'];
        nodes.push(await PrivateRedis.start({ args }));
      }
      const cluster = new PrivateRedisCluster(nodes);
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      await cluster.waitUntilHealthy();
      return cluster;
    } catch (error) {
      await Promise.all(nodes.map((node) => node.stop()));
      throw error;
    }
  }

  /** What hikhub is given as REDIS_URL. */
  get url(): string {
    return `redis+cluster://${this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`;
  }

  /** Until every node says cluster_state:ok and knows all masters (gossip takes a moment after create). */
  private async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(
        this.nodes.map(async (node) => {
          const client = new Redis(node.url, { maxRetriesPerRequest: 1 });
          try {
            const info = await client.cluster('INFO');
            return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${this.nodes.length}\\b`).test(info);
          } finally {
            client.disconnect();
          }
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('private Redis Cluster did not become healthy');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
