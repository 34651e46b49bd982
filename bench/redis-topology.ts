import { parseArgs } from 'node:util';
import type { Queue } from 'bullmq';
import { EVENTS_QUEUE } from '../libs/jobs/events.js';
import { createQueue } from '../libs/jobs/queues.js';
import { createRedisConnection, waitUntilReady, type RedisClient } from '../libs/redis/connection.js';
import { createEventWriter } from '../services/ingest/event-writer.js';
import { PrivateRedisCluster } from '../test/helpers/redis-cluster.js';
import { PrivateRedis } from '../test/helpers/redis-server.js';
import { PrivateSentinel } from '../test/helpers/redis-sentinel.js';
import { benchRequestRecord, FACE_CONTENT_TYPE, faceEventBody, MOTION_CONTENT_TYPE, motionEventBody } from './payloads.js';
import { fmt, formatTable, progress } from './support.js';

/**
 * The ingest's durable write (body + job, libs' event writer) against each Redis topology hikhub
 * supports, all private redis-servers on this box: one Redis (the floor), one shard on a
 * 3-master Redis Cluster (`{prefix}`: every key of the queue in one slot, so on one master), three
 * shards on that cluster (three prefixes whose slots live on the three masters, events split
 * round-robin, as "queue sharding by device" would), and one Redis behind Sentinel. Ratios are
 * against the floor of the same round. One Node process writes; on a small box it, not Redis, may
 * be the limit, which the 3-shard ratio then shows.
 *
 *   node --import tsx bench/redis-topology.ts --events 3000 --concurrency 64 --rounds 3
 */

type Payload = 'face' | 'xml';
const PAYLOADS: Record<Payload, { body: (n: number) => Buffer; contentType: string }> = {
  face: { body: (n) => faceEventBody(n), contentType: FACE_CONTENT_TYPE },
  xml: { body: (n) => motionEventBody(n), contentType: MOTION_CONTENT_TYPE },
};

interface Shard {
  redis: RedisClient;
  queue: Queue;
  write: ReturnType<typeof createEventWriter>;
}

export interface TopologyRun {
  topology: string;
  payload: Payload;
  events: number;
  eventsPerSecond: number;
  /** eventsPerSecond ÷ one Redis in the same round (median over rounds). */
  ratio: number;
}

async function openShards(url: string, prefixes: string[]): Promise<Shard[]> {
  return Promise.all(
    prefixes.map(async (prefix) => {
      const redis = createRedisConnection(url, 'producer', 'hikhub-bench-topology');
      if (!(await waitUntilReady(redis, 10_000))) throw new Error(`${url}: not ready`);
      const queue = createQueue(EVENTS_QUEUE, redis, prefix);
      return { redis, queue, write: createEventWriter({ redis, queue, prefix, timeoutMs: 10_000 }) };
    }),
  );
}

async function closeShards(shards: Shard[]): Promise<void> {
  for (const shard of shards) {
    await shard.queue.obliterate({ force: true }).catch(() => {});
    await shard.queue.close();
    shard.redis.disconnect();
  }
}

/** Writes `events` events with `concurrency` in flight, shards taken round-robin; events/s. */
async function writeEvents(shards: Shard[], payload: Payload, events: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const writer = async () => {
    while (next < events) {
      const n = ++next;
      const body = PAYLOADS[payload].body(n);
      await shards[n % shards.length]!.write(benchRequestRecord(PAYLOADS[payload].contentType, body), body);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, writer));
  return events / ((performance.now() - started) / 1000);
}


const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchRedisTopology(options: { events: number; concurrency: number; rounds: number; payloads: Payload[] }): Promise<TopologyRun[]> {
  const single = await PrivateRedis.start();
  const cluster = await PrivateRedisCluster.start(3);
  const sentinel = await PrivateSentinel.start();
  try {
    const threePrefixes = await Promise.all(cluster.nodes.map((node, index) => cluster.prefixOnMaster(node.port, `bench-shard${index}`)));
    const topologies: { name: string; url: string; prefixes: string[] }[] = [
      { name: 'one Redis (floor)', url: single.url, prefixes: ['bench'] },
      { name: 'Redis Cluster, 1 shard {prefix}', url: cluster.url, prefixes: [threePrefixes[0]!] },
      { name: 'Redis Cluster, 3 shards', url: cluster.url, prefixes: threePrefixes },
      { name: 'Sentinel (master + replica)', url: sentinel.url, prefixes: ['bench'] },
    ];
    const runs: TopologyRun[] = [];
    for (const payload of options.payloads) {
      const rates = new Map<string, number[]>(topologies.map((topology) => [topology.name, []]));
      const ratios = new Map<string, number[]>(topologies.map((topology) => [topology.name, []]));
      for (let round = 1; round <= options.rounds; round += 1) {
        // Each round starts with a different topology, so none always runs on a cold process.
        const order = topologies.map((_, index) => topologies[(index + round - 1) % topologies.length]!);
        const roundRates = new Map<string, number>();
        for (const topology of order) {
          progress(`redis topology: ${payload}, round ${round}/${options.rounds}, ${topology.name}`);
          const shards = await openShards(topology.url, topology.prefixes);
          try {
            await writeEvents(shards, payload, Math.min(200, options.events), options.concurrency); // warm-up
            roundRates.set(topology.name, await writeEvents(shards, payload, options.events, options.concurrency));
          } finally {
            await closeShards(shards);
          }
        }
        const floor = roundRates.get(topologies[0]!.name)!;
        for (const [name, rate] of roundRates) {
          rates.get(name)!.push(rate);
          ratios.get(name)!.push(rate / floor);
        }
      }
      for (const topology of topologies) {
        runs.push({ topology: topology.name, payload, events: options.events, eventsPerSecond: median(rates.get(topology.name)!), ratio: median(ratios.get(topology.name)!) });
      }
    }
    return runs;
  } finally {
    await sentinel.stop();
    await cluster.stop();
    await single.stop();
  }
}

export function formatTopology(runs: TopologyRun[]): string {
  return formatTable(
    ['payload', 'topology', 'events', 'durable writes/s', '× one Redis'],
    runs.map((run) => [run.payload, run.topology, String(run.events), fmt.int(run.eventsPerSecond), fmt.ratio(run.ratio)]),
  );
}

if (process.argv[1]?.endsWith('redis-topology.ts')) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '3000' },
      concurrency: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '3' },
      payloads: { type: 'string', default: 'xml,face' },
      json: { type: 'boolean', default: false },
    },
  });
  const runs = await benchRedisTopology({
    events: Number(values.events),
    concurrency: Number(values.concurrency),
    rounds: Number(values.rounds),
    payloads: values.payloads.split(',').map((name) => name.trim() as Payload),
  });
  process.stdout.write(values.json ? `${JSON.stringify(runs, null, 2)}\n` : `${formatTopology(runs)}\n`);
}
