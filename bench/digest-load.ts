import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { DigestSession } from '../tools/simulator/digest-session.js';
import type { LoadResult } from './load.js';

/**
 * bench/load.ts with HTTP Digest, as a device answers it (its own process, closed loop, keep-alive):
 *
 *   node --import tsx bench/digest-load.ts --url URL --body FILE --content-type T --digest user:password \
 *     --digest-mode reuse|fresh --connections 64 --warmup 1 --duration 5
 *
 * `reuse`: each connection keeps the last challenge and answers it with nc + 1 (one 401 per
 * connection, then again only when the nonce goes stale). `fresh`: every event starts with an
 * unauthenticated POST and its 401, as `curl --digest` does. A request's latency includes its 401
 * round trip; only the final answer's status counts. Prints one JSON line (LoadResult).
 */

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      body: { type: 'string' },
      'content-type': { type: 'string', default: 'application/octet-stream' },
      digest: { type: 'string' },
      'digest-mode': { type: 'string', default: 'reuse' },
      connections: { type: 'string', default: '64' },
      warmup: { type: 'string', default: '1' },
      duration: { type: 'string', default: '5' },
    },
  });
  if (!values.url || !values.body || !values.digest?.includes(':')) throw new Error('usage: digest-load.ts --url URL --body FILE --digest user:password [--digest-mode reuse|fresh] [...]');
  const colon = values.digest.indexOf(':');
  const credentials = { username: values.digest.slice(0, colon), password: values.digest.slice(colon + 1) };
  const fresh = values['digest-mode'] === 'fresh';
  const target = new URL(values.url);
  const body = readFileSync(values.body);
  const connections = Number(values.connections);
  const warmupS = Number(values.warmup);
  const durationS = Number(values.duration);
  const pool = new Pool(target.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const path = `${target.pathname}${target.search}`;

  const started = performance.now();
  const measureFrom = started + warmupS * 1000;
  const stopAt = measureFrom + durationS * 1000;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;

  const send = async (authorization: string | undefined) => {
    const headers: Record<string, string> = { 'content-type': values['content-type'], 'user-agent': 'hikhub-bench' };
    if (authorization) headers.authorization = authorization;
    const response = await pool.request({ origin: target.origin, path, method: 'POST', headers, body });
    await response.body.dump();
    return response;
  };

  const loop = async () => {
    let session = new DigestSession(credentials);
    while (performance.now() < stopAt) {
      const sent = performance.now();
      try {
        if (fresh) session = new DigestSession(credentials);
        let response = await send(session.authorization('POST', path));
        if (response.statusCode === 401 && session.accept(response.headers['www-authenticate'])) response = await send(session.authorization('POST', path));
        const done = performance.now();
        if (done < measureFrom || done > stopAt) continue;
        latencies.push(done - sent);
        if (response.statusCode < 200 || response.statusCode > 299) non2xx++;
      } catch {
        if (performance.now() >= measureFrom) errors++;
        await sleep(10);
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
