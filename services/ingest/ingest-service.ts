import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IngestEnv } from '../../libs/config/env.js';
import { closeServer, startOpsServer } from '../../libs/http/ops-server.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { createQueue } from '../../libs/jobs/queues.js';
import type { RunningService } from '../../libs/lifecycle/run-services.js';
import type { Logger } from '../../libs/logger/logger.js';
import { redactUrl } from '../../libs/config/redact-url.js';
import { createRegistry } from '../../libs/metrics/registry.js';
import { createProducerConnection, checkEvictionPolicy, isRedisReady, waitUntilReady } from '../../libs/redis/connection.js';
import { createIngestApp } from './app.js';
import { createClientAddressResolver } from './client-address.js';
import { createEventWriter } from './event-writer.js';
import { createIngestMetrics, registerWorkerCount } from './metrics.js';
import { InflightBudget } from './read-body.js';

export interface RunningIngest extends RunningService {
  port: number;
  metricsPort: number;
}

export async function startIngest(env: IngestEnv, logger: Logger): Promise<RunningIngest> {
  const registry = createRegistry('ingest');
  const budget = new InflightBudget(env.INGEST_MAX_INFLIGHT_BYTES);
  const metrics = createIngestMetrics(registry, budget);
  const redis = createProducerConnection(env.REDIS_URL, 'hikhub-ingest', logger);
  const queue = createQueue(EVENTS_QUEUE, redis, env.QUEUE_PREFIX, logger);
  registerWorkerCount(registry, queue);

  // Serve even when Redis is down at boot: devices get 503 (and retry) and /readyz says why.
  if (!(await waitUntilReady(redis, 5_000))) logger.error({ redis: redactUrl(env.REDIS_URL) }, 'redis not reachable yet; answering 503 until it is');

  void checkEvictionPolicy(redis, logger);

  let draining = false;
  const ready = async () => !draining && (await isRedisReady(redis));

  const app = createIngestApp({
    logger,
    registry,
    metrics,
    ready,
    writeEvent: createEventWriter({ redis, queue, prefix: env.QUEUE_PREFIX, timeoutMs: env.INGEST_ENQUEUE_TIMEOUT_MS }),
    maxBodyBytes: env.INGEST_MAX_BODY,
    budget,
    clientAddress: createClientAddressResolver(env.TRUSTED_PROXIES),
  });

  // Older cameras send HTTP/1.1 without a Host header (QUIRKS.md); Node refuses those unless told.
  const server = http.createServer({ requireHostHeader: false, headersTimeout: 20_000, requestTimeout: 120_000 }, app);
  server.keepAliveTimeout = 15_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Garbage on the port, a reset mid-request: answer 400 if the socket can still take it, then drop it.
    if (error.code !== 'ECONNRESET' && socket.writable) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.INGEST_PORT, env.INGEST_HOST, () => resolve());
  });
  const ops = await startOpsServer({ port: env.INGEST_METRICS_PORT, registry, ready });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, metricsPort: ops.port }, 'ingest listening');

  return {
    name: 'ingest',
    port,
    metricsPort: ops.port,
    drain: () => {
      draining = true;
    },
    stop: async () => {
      draining = true;
      await closeServer(server);
      await queue.close();
      await redis.quit().catch(() => redis.disconnect());
      await ops.close();
    },
  };
}
