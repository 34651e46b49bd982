import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

/**
 * Closed-loop HTTP load generator, run as its own process so it does not share an event loop
 * with the server under test:
 *
 *   node --import tsx bench/load.ts --url http://127.0.0.1:8080/event --body body.bin \
 *     --content-type 'multipart/form-data; boundary=MIME_boundary' --connections 64 --warmup 1 --duration 5
 *
 * Each of `connections` loops sends a POST and waits for the whole answer before the next one
 * (keep-alive, no pipelining). Requests that complete during the warm-up are not counted.
 * Prints one JSON line (LoadResult) on stdout.
 */

export interface LoadResult {
  connections: number;
  warmupS: number;
  durationS: number;
  bodyBytes: number;
  /** Answers received in the measured window (any status). */
  requests: number;
  requestsPerSecond: number;
  non2xx: number;
  /** Connection-level failures (reset, refused, timeout). */
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      body: { type: 'string' },
      'content-type': { type: 'string', default: 'application/octet-stream' },
      connections: { type: 'string', default: '64' },
      warmup: { type: 'string', default: '1' },
      duration: { type: 'string', default: '5' },
    },
  });
  if (!values.url || !values.body) throw new Error('usage: load.ts --url URL --body FILE [--content-type T] [--connections N] [--warmup S] [--duration S]');
  const target = new URL(values.url);
  const body = readFileSync(values.body);
  const connections = Number(values.connections);
  const warmupS = Number(values.warmup);
  const durationS = Number(values.duration);

  const pool = new Pool(target.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const headers = { 'content-type': values['content-type'], 'user-agent': 'hikhub-bench' };
  const path = `${target.pathname}${target.search}`;

  const started = performance.now();
  const measureFrom = started + warmupS * 1000;
  const stopAt = measureFrom + durationS * 1000;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;

  const loop = async () => {
    while (performance.now() < stopAt) {
      const sent = performance.now();
      try {
        const response = await pool.request({ origin: target.origin, path, method: 'POST', headers, body });
        await response.body.dump();
        const done = performance.now();
        if (done < measureFrom || done > stopAt) continue;
        latencies.push(done - sent);
        if (response.statusCode < 200 || response.statusCode > 299) non2xx++;
      } catch {
        if (performance.now() >= measureFrom) errors++;
        await sleep(10); // a dead server must not turn this loop into a busy spin
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  await pool.close();

  const sorted = Float64Array.from(latencies).sort();
  const result: LoadResult = {
    connections,
    warmupS,
    durationS,
    bodyBytes: body.length,
    requests: latencies.length,
    requestsPerSecond: latencies.length / durationS,
    non2xx,
    errors,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
