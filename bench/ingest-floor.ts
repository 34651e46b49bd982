import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/helpers/redis-server.js';
import type { LoadResult } from './load.js';
import { FACE_CONTENT_TYPE, faceEventBody } from './payloads.js';
import { progress, runLoad, startIngest, startService, type LoadScenarioOptions } from './support.js';

export interface IngestFloorRun {
  target: 'floor' | 'ingest';
  round: number;
  load: LoadResult;
  /** Events that reached Redis during the whole run (warm-up included): a check that the 200s were real writes. */
  queuedJobs: number;
}

export interface IngestFloorResult {
  bodyBytes: number;
  connections: number;
  warmupS: number;
  durationS: number;
  runs: IngestFloorRun[];
  bestFloor: LoadResult;
  bestIngest: LoadResult;
  /** ingest req/s ÷ floor req/s, best run of each. */
  throughputRatio: number;
  /** ingest p99 ÷ floor p99, of those same best runs. */
  p99Ratio: number;
}

const QUEUE_PREFIX = 'bench';

/**
 * Scenario 1: the real ingest process against the floor server (bench/floor-server.ts), both on
 * the private Redis, POSTed the same 60 KiB face event by the same load generator. Alternates
 * floor, ingest, floor, ingest… and keeps the best run of each; Redis is flushed before every run
 * so each one starts from an empty store.
 */
export async function benchIngestVsFloor(options: LoadScenarioOptions): Promise<IngestFloorResult> {
  const { resources, redis, redisUrl } = options;
  const body = faceEventBody();
  const bodyFile = join(options.workDir, 'face-event.bin');
  await writeFile(bodyFile, body);

  const floorPort = await freePort();
  progress('starting the floor server and the ingest service');
  const floor = await startService(
    resources,
    'floor server',
    'bench/floor-server.ts',
    { FLOOR_PORT: String(floorPort), REDIS_URL: redisUrl, QUEUE_PREFIX },
    `http://127.0.0.1:${floorPort}/readyz`,
  );
  const ingest = await startIngest(resources, 'ingest', { redisUrl, queuePrefix: QUEUE_PREFIX });

  const targets = { floor: `http://127.0.0.1:${floorPort}/event/notification`, ingest: `http://127.0.0.1:${ingest.port}/event/notification` };
  const runs: IngestFloorRun[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const target of ['floor', 'ingest'] as const) {
        await redis.flushall('SYNC');
        await sleep(300);
        progress(`${target} run ${round}/${options.rounds}: ${options.connections} connections, ${options.warmupS} s warm-up + ${options.durationS} s`);
        const load = await runLoad(resources, {
          url: targets[target],
          bodyFile,
          contentType: FACE_CONTENT_TYPE,
          connections: options.connections,
          warmupS: options.warmupS,
          durationS: options.durationS,
        });
        const queuedJobs = await redis.llen(`${QUEUE_PREFIX}:events:wait`);
        runs.push({ target, round, load, queuedJobs });
        progress(`  ${Math.round(load.requestsPerSecond)} req/s, non-2xx ${load.non2xx}, errors ${load.errors}, p50 ${load.p50Ms.toFixed(1)} ms, p99 ${load.p99Ms.toFixed(1)} ms, ${queuedJobs} jobs queued`);
      }
    }
  } finally {
    await redis.flushall('SYNC').catch(() => {});
    await ingest.stop();
    await floor.stop();
  }

  const best = (target: 'floor' | 'ingest') =>
    runs.filter((run) => run.target === target).reduce((a, b) => (b.load.requestsPerSecond > a.load.requestsPerSecond ? b : a)).load;
  const bestFloor = best('floor');
  const bestIngest = best('ingest');
  return {
    bodyBytes: body.length,
    connections: options.connections,
    warmupS: options.warmupS,
    durationS: options.durationS,
    runs,
    bestFloor,
    bestIngest,
    throughputRatio: bestIngest.requestsPerSecond / bestFloor.requestsPerSecond,
    p99Ratio: bestIngest.p99Ms / bestFloor.p99Ms,
  };
}
