import { Gauge, type Registry } from 'prom-client';
import { primaryNodes, withTimeout, type RedisClient } from '../redis/connection.js';

export interface RedisMemory {
  usedBytes: number;
  /** `maxmemory`; 0 means no limit (Redis grows until the kernel or the container kills it). */
  maxBytes: number;
}

/** The two numbers hikhub alerts on, from the text of `INFO memory`. */
export function parseRedisMemory(info: string): RedisMemory {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:(\\d+)\\s*$`, 'm').exec(info);
    if (!match) throw new Error(`INFO memory has no ${name}`);
    return Number(match[1]);
  };
  return { usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
}

/**
 * On a cluster, the master that matters is the one closest to full (a hash-tagged prefix keeps a
 * queue on one master); a master without a limit wins, so the no-limit alert still fires.
 */
export function closestToFull(memories: RedisMemory[]): RedisMemory {
  const ratio = (memory: RedisMemory) => (memory.maxBytes === 0 ? Infinity : memory.usedBytes / memory.maxBytes);
  return memories.reduce((worst, memory) => (ratio(memory) > ratio(worst) || (ratio(memory) === ratio(worst) && memory.usedBytes > worst.usedBytes) ? memory : worst));
}

const READ_TIMEOUT_MS = 2_000;
// One INFO per scrape: both gauges are collected in parallel and share a read this recent.
const SHARED_READ_MS = 1_000;

/**
 * Redis memory, read with `INFO memory` when Prometheus scrapes (no redis_exporter needed):
 * queued events live in Redis, and with `noeviction` a full Redis makes ingest answer 503.
 * Every replica reports the same numbers: alerts and dashboards take max(), never sum().
 */
export function registerRedisMemory(registry: Registry, redis: RedisClient): void {
  let last: { at: number; read: Promise<RedisMemory> } | undefined;
  const read = (): Promise<RedisMemory> => {
    if (!last || Date.now() - last.at > SHARED_READ_MS) {
      const nodes = primaryNodes(redis);
      const reads = Promise.all(nodes.map((node) => node.info('memory').then(parseRedisMemory)));
      last = { at: Date.now(), read: withTimeout(reads, READ_TIMEOUT_MS).then(closestToFull) };
    }
    return last.read;
  };
  const gauge = (name: string, help: string, pick: (memory: RedisMemory) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        try {
          this.set(pick(await read()));
        } catch {
          // Redis unreachable: keep the last value; readiness and the queue alerts report the outage.
        }
      },
    });
  gauge('hikhub_redis_memory_used_bytes', 'Memory Redis uses (INFO memory used_memory, read at scrape time)', (memory) => memory.usedBytes);
  gauge('hikhub_redis_memory_max_bytes', 'Redis maxmemory limit; 0 means no limit (read at scrape time)', (memory) => memory.maxBytes);
}
