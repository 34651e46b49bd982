import type { Redis } from 'ioredis';
import { isCluster, primaryNodes, waitUntilReady, type RedisClient } from './connection.js';
import { keyLayout } from './key-layout.js';

/**
 * Every key matching a pattern, in SCAN batches (never KEYS, which blocks Redis). SCAN walks one
 * server only, so on a cluster every master is walked in turn; each batch says which node holds it.
 */
async function* scanKeysByNode(redis: RedisClient, pattern: string): AsyncGenerator<{ node: Redis; keys: string[] }> {
  // A cluster knows its masters only once the slots are loaded: an empty list would look like "no keys".
  if (isCluster(redis) && !(await waitUntilReady(redis, 5_000))) throw new Error('Redis Cluster is not ready: cannot list its masters');
  for (const node of primaryNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) yield { node, keys };
    } while (cursor !== '0');
  }
}

export async function* scanKeys(redis: RedisClient, pattern: string): AsyncGenerator<string[]> {
  for await (const { keys } of scanKeysByNode(redis, pattern)) yield keys;
}

/** Remove everything under a key prefix (a test's or a benchmark's private namespace). */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<void> {
  for await (const { node, keys } of scanKeysByNode(redis, keyLayout(prefix).everything)) {
    if (!isCluster(redis)) {
      await node.unlink(...keys);
      continue;
    }
    // One batch from a cluster node may span slots, and a multi-key UNLINK across slots is refused
    // (CROSSSLOT): one UNLINK per key, pipelined to the node that holds them.
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.unlink(key);
    await pipeline.exec();
  }
}
