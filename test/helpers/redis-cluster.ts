import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, PrivateRedis } from './redis-server.js';

const run = promisify(execFile);

/**
 * A private Redis Cluster of `masters` redis-server processes (and `replicasPerMaster` replicas
 * of each) on free loopback ports, each in its own temp dir, joined with `redis-cli --cluster
 * create`. Never the shared Redis; stopped by pid. The cluster bus port is chosen too (port +
 * 10000 may not exist).
 */
export class PrivateRedisCluster {
  private constructor(readonly nodes: PrivateRedis[]) {}

  static async start(masters = 3, options: { replicasPerMaster?: number } = {}): Promise<PrivateRedisCluster> {
    const replicas = options.replicasPerMaster ?? 0;
    const nodes: PrivateRedis[] = [];
    try {
      for (let i = 0; i < masters * (1 + replicas); i += 1) {
        const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(await freePort()), '--cluster-node-timeout', '2000'];
        nodes.push(await PrivateRedis.start({ args }));
      }
      const cluster = new PrivateRedisCluster(nodes);
      const primaries = nodes.slice(0, masters);
      await run('redis-cli', ['--cluster', 'create', ...primaries.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      // Replicas joined one by one to a named master (create's own pairing avoids same-host pairs).
      for (const [index, replica] of nodes.slice(masters).entries()) {
        const master = primaries[index % masters]!;
        const id = await cluster.nodeId(master);
        await run('redis-cli', ['--cluster', 'add-node', `127.0.0.1:${replica.port}`, `127.0.0.1:${master.port}`, '--cluster-slave', '--cluster-master-id', id], { timeout: 30_000 });
      }
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

  private async nodeId(node: PrivateRedis): Promise<string> {
    const client = new Redis(node.url, { maxRetriesPerRequest: 1 });
    try {
      return (await client.cluster('MYID')) as string;
    } finally {
      client.disconnect();
    }
  }

  /** The live node serving a key's slot as master. */
  async masterOf(key: string): Promise<PrivateRedis> {
    const client = new Redis(this.alive()[0]!.url, { maxRetriesPerRequest: 1 });
    try {
      const slot = (await client.cluster('KEYSLOT', key)) as number;
      const slots = await client.cluster('SLOTS');
      const port = slots.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
      const node = this.nodes.find((candidate) => candidate.port === port);
      if (!node) throw new Error(`no master serves slot ${slot}`);
      return node;
    } finally {
      client.disconnect();
    }
  }

  /** A hash-tagged prefix `{<label>-<n>}` whose slot the master at `port` serves: puts a queue on a chosen master. */
  async prefixOnMaster(port: number, label: string): Promise<string> {
    for (let n = 0; ; n += 1) {
      const prefix = `{${label}-${n}}`;
      if ((await this.masterOf(prefix)).port === port) return prefix;
    }
  }

  /** kill -9 of one node (by pid); `waitUntilHealthy` then waits for its replica to take over. */
  async kill(node: PrivateRedis): Promise<void> {
    await node.kill();
    this.killed.add(node);
  }

  private readonly killed = new Set<PrivateRedis>();

  private alive(): PrivateRedis[] {
    return this.nodes.filter((node) => !this.killed.has(node));
  }

  /** Until every live node says cluster_state:ok and knows every node (gossip takes a moment after create or a failover), replicas in sync. */
  async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(
        this.alive().map(async (node) => {
          const client = new Redis(node.url, { maxRetriesPerRequest: 1 });
          try {
            const info = await client.cluster('INFO');
            // A replica counts once it is in sync: one whose link is down refuses to take over.
            const replication = await client.info('replication');
            const synced = !/^role:slave/m.test(replication) || /^master_link_status:up/m.test(replication);
            return synced && /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${this.nodes.length}\\b`).test(info);
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
