import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { keyLayout } from '../libs/redis/key-layout.js';
import { scanKeys } from '../libs/redis/keys.js';
import { freePort } from '../test/helpers/redis-server.js';
import type { LoadResult } from './load.js';
import { FACE_CONTENT_TYPE, faceEventBody, LINE_CROSSING_CONTENT_TYPE, lineCrossingEventBody, lineCrossingEventSource } from './payloads.js';
import { processCpuSeconds, progress, redisCpuSeconds, runLoad, startIngest, startService, type LoadScenarioOptions } from './support.js';

export const FLOOR_TARGETS = ['true floor', 'BullMQ floor', 'ingest'] as const;
export type FloorTarget = (typeof FLOOR_TARGETS)[number];

export interface IngestFloorRun {
  target: FloorTarget;
  round: number;
  load: LoadResult;
  /** Events that reached Redis during the run (warm-up included): a check that the 200s were real writes. */
  stored: number;
  /** CPU time per stored event during the run (warm-up included): the server process's (user + system), and Redis's. */
  serverCpuMsPerEvent: number;
  redisCpuMsPerEvent: number;
}

export interface IngestPayloadResult {
  payload: string;
  bodyBytes: number;
  runs: IngestFloorRun[];
  /** Best run (req/s) of each target. */
  best: Record<FloorTarget, LoadResult>;
  /** ingest ÷ true floor (req/s, p99) and ingest ÷ BullMQ floor, best runs. */
  ratios: { vsTrueFloor: { throughput: number; p99: number }; vsBullmqFloor: { throughput: number; p99: number } };
}

export interface IngestFloorResult {
  connections: number;
  warmupS: number;
  durationS: number;
  lineCrossingSource: 'fixture' | 'built-in';
  payloads: IngestPayloadResult[];
}

const QUEUE_PREFIX = 'bench';

/**
 * Scenario 1: the real ingest process against two floors (bench/floor-server.ts), all three on
 * the private Redis, POSTed the same body by the same load generator (bench/load.ts, own process):
 * - true floor: node:http + one `SET` of the body — the least a durable ingest can do;
 * - BullMQ floor: node:http + the ingest's own durable writes (body chunks + BullMQ job).
 * Two payloads: the 1.25 KB XML line-crossing alert and the 61 KB multipart face event. Rounds
 * interleave (true floor, BullMQ floor, ingest, repeat); Redis is flushed before every run so each
 * starts from an empty store; the best run of each target is kept.
 */
export async function benchIngestVsFloor(options: LoadScenarioOptions): Promise<IngestFloorResult> {
  const { resources, redis, redisUrl } = options;
  const payloads = [
    { payload: '1.25 KB XML line-crossing event', body: lineCrossingEventBody(), contentType: LINE_CROSSING_CONTENT_TYPE, file: 'line-crossing.xml' },
    { payload: '61 KB multipart face event', body: faceEventBody(), contentType: FACE_CONTENT_TYPE, file: 'face-event.bin' },
  ];

  progress('starting the two floor servers and the ingest service');
  const trueFloorPort = await freePort();
  const bullmqFloorPort = await freePort();
  const floorEnv = { REDIS_URL: redisUrl, QUEUE_PREFIX };
  const trueFloor = await startService(resources, 'true floor server', 'bench/floor-server.ts', { ...floorEnv, FLOOR_MODE: 'one-command', FLOOR_PORT: String(trueFloorPort) }, `http://127.0.0.1:${trueFloorPort}/readyz`);
  const bullmqFloor = await startService(resources, 'BullMQ floor server', 'bench/floor-server.ts', { ...floorEnv, FLOOR_MODE: 'bullmq', FLOOR_PORT: String(bullmqFloorPort) }, `http://127.0.0.1:${bullmqFloorPort}/readyz`);
  const ingest = await startIngest(resources, 'ingest', { redisUrl, queuePrefix: QUEUE_PREFIX });
  const ports: Record<FloorTarget, number> = { 'true floor': trueFloorPort, 'BullMQ floor': bullmqFloorPort, ingest: ingest.port };
  const pids: Record<FloorTarget, number> = { 'true floor': trueFloor.service.pid!, 'BullMQ floor': bullmqFloor.service.pid!, ingest: ingest.pid };

  /**
   * Events one run left in the flushed Redis: the true floor's keys (it writes nothing else), or the
   * event bodies (one per event, whether its job is an event.archive or an event.archive-batch).
   */
  const stored = async (target: FloorTarget) => {
    if (target === 'true floor') return redis.dbsize();
    let bodies = 0;
    for await (const keys of scanKeys(redis, `${keyLayout(QUEUE_PREFIX).bodyPrefix}*`)) bodies += keys.length;
    return bodies;
  };

  const results: IngestPayloadResult[] = [];
  try {
    for (const { payload, body, contentType, file } of payloads) {
      const bodyFile = join(options.workDir, file);
      await writeFile(bodyFile, body);
      const runs: IngestFloorRun[] = [];
      for (let round = 1; round <= options.rounds; round++) {
        for (const target of FLOOR_TARGETS) {
          await redis.flushall('SYNC');
          await sleep(300);
          progress(`${payload}, ${target} run ${round}/${options.rounds}: ${options.connections} connections, ${options.warmupS} s warm-up + ${options.durationS} s`);
          const [serverBefore, redisBefore] = [await processCpuSeconds(pids[target]), await redisCpuSeconds(redis)];
          const load = await runLoad(resources, {
            url: `http://127.0.0.1:${ports[target]}/ISAPI/Event/notification/alertStream`,
            bodyFile,
            contentType,
            connections: options.connections,
            warmupS: options.warmupS,
            durationS: options.durationS,
          });
          const serverCpuMsPerEvent = ((await processCpuSeconds(pids[target])) - serverBefore) * 1000;
          const redisCpuMsPerEvent = ((await redisCpuSeconds(redis)) - redisBefore) * 1000;
          const count = await stored(target);
          runs.push({ target, round, load, stored: count, serverCpuMsPerEvent: serverCpuMsPerEvent / count, redisCpuMsPerEvent: redisCpuMsPerEvent / count });
          progress(`  ${Math.round(load.requestsPerSecond)} req/s, non-2xx ${load.non2xx}, errors ${load.errors}, p50 ${load.p50Ms.toFixed(1)} ms, p99 ${load.p99Ms.toFixed(1)} ms, ${count} events in Redis`);
        }
      }
      const bestOf = (target: FloorTarget) =>
        runs.filter((run) => run.target === target).reduce((a, b) => (b.load.requestsPerSecond > a.load.requestsPerSecond ? b : a)).load;
      const best = { 'true floor': bestOf('true floor'), 'BullMQ floor': bestOf('BullMQ floor'), ingest: bestOf('ingest') };
      const versus = (floor: LoadResult) => ({ throughput: best.ingest.requestsPerSecond / floor.requestsPerSecond, p99: best.ingest.p99Ms / floor.p99Ms });
      results.push({ payload, bodyBytes: body.length, runs, best, ratios: { vsTrueFloor: versus(best['true floor']), vsBullmqFloor: versus(best['BullMQ floor']) } });
    }
  } finally {
    await redis.flushall('SYNC').catch(() => {});
    await ingest.stop();
    await bullmqFloor.stop();
    await trueFloor.stop();
  }

  return {
    connections: options.connections,
    warmupS: options.warmupS,
    durationS: options.durationS,
    lineCrossingSource: lineCrossingEventSource(),
    payloads: results,
  };
}
