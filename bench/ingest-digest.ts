import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadResult } from './load.js';
import { FACE_CONTENT_TYPE, faceEventBody } from './payloads.js';
import { progress, runLoad, startIngest, type LoadScenarioOptions } from './support.js';

export type DigestTarget = 'digest off' | 'digest on (nonce reused)' | 'digest on (challenge per event)';
const TARGETS: readonly DigestTarget[] = ['digest off', 'digest on (nonce reused)', 'digest on (challenge per event)'];

export interface IngestDigestResult {
  bodyBytes: number;
  connections: number;
  warmupS: number;
  durationS: number;
  /**
   * serverCpuMsPerEvent: the ingest process's CPU time (user + system) per queued event during the run.
   * replayBytesPerEvent: Redis memory held by the Digest replay guard (used nonce counts, kept until
   * the nonce expires) per queued event at the end of the run; null with digest off.
   */
  runs: { target: DigestTarget; round: number; load: LoadResult; serverCpuMsPerEvent: number; replayBytesPerEvent: number | null }[];
  best: Record<DigestTarget, LoadResult>;
}

const QUEUE_PREFIX = 'bench-digest';
const CREDENTIALS = { username: 'bench-device', password: 'bench-device-password' };

/**
 * Scenario 4: the real ingest process with device authentication off (INGEST_AUTH=none) and on
 * (INGEST_AUTH=digest, a shared credential), POSTed the same face event. Digest is measured as
 * devices may use it: reusing a nonce with nc + 1, and with a fresh 401 challenge before every
 * event (as `curl --digest` does). Two ingest processes, same private Redis, runs alternate, the
 * best of each is kept; rate limits are off in both so only authentication differs.
 */
export async function benchIngestDigest(options: LoadScenarioOptions): Promise<IngestDigestResult> {
  const { resources, redis, redisUrl } = options;
  const body = faceEventBody();
  const bodyFile = join(options.workDir, 'face-event-digest.bin');
  await writeFile(bodyFile, body);

  // Rate limits off in both (per address by startIngest, per device here) so only authentication differs.
  const start = (name: string, env: Record<string, string>) =>
    startIngest(resources, name, { redisUrl, queuePrefix: QUEUE_PREFIX, env: { INGEST_RATE_PER_DEVICE: '0', ...env } });

  progress('starting ingest with digest off and with digest on');
  const off = await start('ingest (digest off)', { INGEST_AUTH: 'none' });
  const on = await start('ingest (digest on)', {
    INGEST_AUTH: 'digest',
    INGEST_NONCE_SECRET: 'bench-nonce-secret-0123456789abcdef0123456789',
    INGEST_DIGEST_USERNAME: CREDENTIALS.username,
    INGEST_DIGEST_PASSWORD: CREDENTIALS.password,
  });

  const runs: IngestDigestResult['runs'] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const target of TARGETS) {
        await redis.flushall('SYNC');
        await sleep(300);
        progress(`${target} run ${round}/${options.rounds}: ${options.connections} connections, ${options.warmupS} s warm-up + ${options.durationS} s`);
        const digest = target !== 'digest off';
        const server = digest ? on : off;
        const before = await serverUsage(server.pid, server.metricsPort);
        const load = await runLoad(resources, {
          url: `http://127.0.0.1:${digest ? on.port : off.port}/event/notification`,
          bodyFile,
          contentType: FACE_CONTENT_TYPE,
          connections: options.connections,
          warmupS: options.warmupS,
          durationS: options.durationS,
          // The same client for all three runs (off never sees a challenge, so it sends no
          // Authorization): only the server's work differs.
          extraArgs: ['--digest', `${CREDENTIALS.username}:${CREDENTIALS.password}`, '--digest-mode', target === 'digest on (challenge per event)' ? 'fresh' : 'reuse'],
        });
        const after = await serverUsage(server.pid, server.metricsPort);
        const queued = Math.max(1, after.queuedEvents - before.queuedEvents);
        const serverCpuMsPerEvent = ((after.cpuSeconds - before.cpuSeconds) * 1000) / queued;
        const replayBytesPerEvent = digest ? (await replayGuardBytes(redis)) / queued : null;
        runs.push({ target, round, load, serverCpuMsPerEvent, replayBytesPerEvent });
        progress(`  ${Math.round(load.requestsPerSecond)} req/s, non-2xx ${load.non2xx}, errors ${load.errors}, p50 ${load.p50Ms.toFixed(1)} ms, p99 ${load.p99Ms.toFixed(1)} ms`);
      }
    }
  } finally {
    await redis.flushall('SYNC').catch(() => {});
    await on.stop();
    await off.stop();
  }

  const best = Object.fromEntries(
    TARGETS.map((target) => [target, runs.filter((run) => run.target === target).reduce((a, b) => (b.load.requestsPerSecond > a.load.requestsPerSecond ? b : a)).load]),
  ) as Record<DigestTarget, LoadResult>;
  return { bodyBytes: body.length, connections: options.connections, warmupS: options.warmupS, durationS: options.durationS, runs, best };
}

/** Redis memory of the replay guard's hashes (used nonces by second of issue): MEMORY USAGE of a sample × their count. */
async function replayGuardBytes(redis: LoadScenarioOptions['redis']): Promise<number> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:edge:nonces:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return 0;
  const sample = keys.slice(0, 2000);
  const sizes = await Promise.all(sample.map((key) => redis.memory('USAGE', key, 'SAMPLES', 0)));
  const sampled = sizes.reduce<number>((sum, size) => sum + Number(size ?? 0), 0);
  return (sampled / sample.length) * keys.length;
}

/** CPU seconds used so far by a process (Linux /proc, clock ticks at 100 Hz) and its queued-event counter. */
async function serverUsage(pid: number, metricsPort: number): Promise<{ cpuSeconds: number; queuedEvents: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const match = /^hikhub_ingest_queued_events_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/m.exec(metrics);
  return { cpuSeconds, queuedEvents: match ? Number(match[1]) : 0 };
}
