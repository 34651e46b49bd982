import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { DigestSession } from '../tools/simulator/digest-session.js';

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
 *
 * With `--digest user:password` it answers HTTP Digest as a device does (the simulator's
 * DigestSession). `--digest-mode reuse` (the default): each connection keeps the last challenge
 * and answers it with nc + 1 (one 401 per connection, then again only when the nonce goes stale).
 * `--digest-mode fresh`: every event starts with an unauthenticated POST and its 401, as
 * `curl --digest` does. A request's latency includes its 401 round trip; only the final answer's
 * status counts. A server that never challenges sees no Authorization header at all.
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
      digest: { type: 'string' },
      'digest-mode': { type: 'string', default: 'reuse' },
      connections: { type: 'string', default: '64' },
      warmup: { type: 'string', default: '1' },
      duration: { type: 'string', default: '5' },
    },
  });
  const usage = 'usage: load.ts --url URL --body FILE [--content-type T] [--digest user:password [--digest-mode reuse|fresh]] [--connections N] [--warmup S] [--duration S]';
  const colon = values.digest?.indexOf(':') ?? 0;
  if (!values.url || !values.body || colon === -1 || !['reuse', 'fresh'].includes(values['digest-mode'])) throw new Error(usage);
  const credentials = values.digest === undefined ? null : { username: values.digest.slice(0, colon), password: values.digest.slice(colon + 1) };
  const fresh = values['digest-mode'] === 'fresh';
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
  const baseHeaders = { 'content-type': values['content-type'], 'user-agent': 'hikhub-bench' };
  const path = `${target.pathname}${target.search}`;

  const send = async (authorization: string | undefined) => {
    const headers = authorization ? { ...baseHeaders, authorization } : baseHeaders;
    const response = await pool.request({ origin: target.origin, path, method: 'POST', headers, body });
    await response.body.dump();
    return response;
  };

  /** One connection's exchange for one event (its 401 round trip included); resolves to the final status. */
  const exchanger = (): (() => Promise<number>) => {
    if (!credentials) return async () => (await send(undefined)).statusCode;
    let session = new DigestSession(credentials);
    return async () => {
      if (fresh) session = new DigestSession(credentials);
      let response = await send(session.authorization('POST', path));
      if (response.statusCode === 401 && session.accept(response.headers['www-authenticate'])) response = await send(session.authorization('POST', path));
      return response.statusCode;
    };
  };

  const started = performance.now();
  const measureFrom = started + warmupS * 1000;
  const stopAt = measureFrom + durationS * 1000;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;

  const loop = async () => {
    const exchange = exchanger();
    while (performance.now() < stopAt) {
      const sent = performance.now();
      try {
        const status = await exchange();
        const done = performance.now();
        if (done < measureFrom || done > stopAt) continue;
        latencies.push(done - sent);
        if (status < 200 || status > 299) non2xx++;
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
