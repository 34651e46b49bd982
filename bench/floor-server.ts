import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { uuidV7 } from '../libs/ids/uuid-v7.js';
import { EVENTS_QUEUE } from '../libs/jobs/events.js';
import { createQueue } from '../libs/jobs/queues.js';
import { KEPT_HEADERS } from '../libs/jobs/raw-event.js';
import { createProducerConnection, isRedisReady, waitUntilReady } from '../libs/redis/connection.js';
import { createEventWriter } from '../services/ingest/event-writer.js';

/**
 * The floors for the ingest benchmark: bare node:http servers that do only the work an ingest
 * cannot avoid — stream the body into memory, write it to Redis, answer 200 once Redis said OK.
 * No express, no limits, no metrics, no logging. Its own process, like the ingest it is compared
 * with. FLOOR_MODE picks the write:
 *
 *   one-command  the TRUE floor: the body stored with a single `SET <prefix>:floor:<uuid> <body>`
 *                (one Redis command per event, the least a durable ingest can do)
 *   bullmq       the same durable writes as the ingest (body chunks + BullMQ job, one per event
 *                or one event.archive-batch job per concurrent batch, through the
 *                ingest's own writer), so ingest / this floor is the ingest's overhead over BullMQ
 *
 *   FLOOR_MODE=one-command FLOOR_PORT=8090 REDIS_URL=redis://127.0.0.1:6379 QUEUE_PREFIX=bench \
 *     node --import tsx bench/floor-server.ts
 *
 * GET /readyz answers 200 once Redis is connected. SIGTERM/SIGINT stop it.
 */

const mode = process.env.FLOOR_MODE ?? 'bullmq';
if (mode !== 'one-command' && mode !== 'bullmq') throw new Error(`FLOOR_MODE must be one-command or bullmq, not ${mode}`);
const port = Number(process.env.FLOOR_PORT ?? 0);
const host = process.env.FLOOR_HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.QUEUE_PREFIX ?? 'bench';
const timeoutMs = Number(process.env.INGEST_ENQUEUE_TIMEOUT_MS ?? 1_500);

const redis = createProducerConnection(redisUrl, `hikhub-bench-floor-${mode}`);
redis.on('error', () => {});
const queue = mode === 'bullmq' ? createQueue(EVENTS_QUEUE, redis, prefix) : null;
queue?.on('error', () => {});
const writeEvent = queue ? createEventWriter({ redis, queue, prefix, timeoutMs }) : null;
if (!(await waitUntilReady(redis, 5_000))) throw new Error(`floor: redis not reachable at ${redisUrl}`);

function answer(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The BullMQ floor's write: the ingest's own record and writer. */
function writeLikeIngest(req: http.IncomingMessage, receivedAt: Date, id: string, body: Buffer): Promise<unknown> {
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = req.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const url = req.url ?? '/';
  const queryIndex = url.indexOf('?');
  return writeEvent!(
    {
      id,
      receivedAt: receivedAt.toISOString(),
      remoteAddress: req.socket.remoteAddress ?? '',
      method: req.method ?? 'POST',
      path: queryIndex === -1 ? url : url.slice(0, queryIndex),
      query: queryIndex === -1 ? '' : url.slice(queryIndex + 1),
      headers,
    },
    body,
  );
}

const server = http.createServer({ requireHostHeader: false }, (req, res) => {
  if (req.method !== 'POST') {
    if (req.url === '/readyz') {
      void isRedisReady(redis).then((ok) => answer(res, ok ? 200 : 503, ok ? 'ready\n' : 'not ready\n'));
    } else {
      answer(res, 405, 'POST only\n');
    }
    return;
  }
  const receivedAt = new Date();
  const chunks: Buffer[] = [];
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
  });
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
    const id = uuidV7(receivedAt.getTime());
    const write = writeEvent ? writeLikeIngest(req, receivedAt, id, body) : redis.set(`${prefix}:floor:${id}`, body);
    write.then(
      () => answer(res, 200, 'OK\n'),
      () => answer(res, 503, 'Event store unavailable\n'),
    );
  });
});
server.keepAliveTimeout = 15_000; // as ingest
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, host, () => resolve());
});
process.stdout.write(`${JSON.stringify({ floor: 'listening', mode, port: (server.address() as AddressInfo).port })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await queue?.close().catch(() => {});
  await redis.quit().catch(() => redis.disconnect());
  process.exit(0);
}
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
