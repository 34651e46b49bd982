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
import { createIngestHandler } from './app.js';
import { BodyRateGuard } from './body-rate-guard.js';
import { BodySlots } from './body-slots.js';
import { createAddressMatcher } from '../../libs/edge-auth/address-list.js';
import { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { NonceReplayGuard } from '../../libs/edge-auth/nonce-replay-guard.js';
import { RedisRateLimiter } from '../../libs/edge-auth/rate-limiter.js';
import { createClientAddressResolver, normalizeAddress } from './client-address.js';
import { checkEdgeConfig } from './edge-config.js';
import { createEdgeGuard } from './edge-guard.js';
import { createEventWriter } from './event-writer.js';
import { createIngestMetrics, registerWorkerCount } from './metrics.js';
import { InflightBudget } from './read-body.js';

export interface RunningIngest extends RunningService {
  port: number;
  metricsPort: number;
}

export async function startIngest(env: IngestEnv, logger: Logger): Promise<RunningIngest> {
  checkEdgeConfig(env);
  const registry = createRegistry('ingest');
  const budget = new InflightBudget(env.INGEST_MAX_INFLIGHT_BYTES);
  const slots = new BodySlots(
    { maxBodies: env.INGEST_MAX_CONCURRENT_BODIES, maxBodiesPerAddress: env.INGEST_MAX_BODIES_PER_ADDRESS, maxBytesPerAddress: env.INGEST_MAX_INFLIGHT_BYTES_PER_ADDRESS },
    budget,
  );
  const rateGuard = new BodyRateGuard(env.INGEST_MIN_BODY_RATE, env.INGEST_BODY_RATE_WINDOW_MS);
  const metrics = createIngestMetrics(registry, budget, slots);
  const redis = createProducerConnection(env.REDIS_URL, 'hikhub-ingest', logger);
  const queue = createQueue(EVENTS_QUEUE, redis, env.QUEUE_PREFIX, logger);
  registerWorkerCount(registry, queue);

  // Serve even when Redis is down at boot: devices get 503 (and retry) and /readyz says why.
  if (!(await waitUntilReady(redis, 5_000))) logger.error({ redis: redactUrl(env.REDIS_URL) }, 'redis not reachable yet; answering 503 until it is');

  void checkEvictionPolicy(redis, logger);

  let draining = false;
  const ready = async () => !draining && (await isRedisReady(redis));

  const handler = createIngestHandler({
    logger,
    metrics,
    writeEvent: createEventWriter({ redis, queue, prefix: env.QUEUE_PREFIX, timeoutMs: env.INGEST_ENQUEUE_TIMEOUT_MS }),
    maxBodyBytes: env.INGEST_MAX_BODY,
    slots,
    rateGuard,
    clientAddress: createClientAddressResolver(env.TRUSTED_PROXIES),
    checkEdge: createEdgeGuard({
      settings: env,
      store: new EdgeCredentialStore(redis, env.QUEUE_PREFIX, { cacheMs: env.INGEST_CREDENTIAL_CACHE_MS, realm: env.INGEST_DIGEST_REALM }),
      limiter: new RedisRateLimiter(redis, Math.min(100, env.INGEST_ENQUEUE_TIMEOUT_MS)),
      replays: new NonceReplayGuard(redis, env.QUEUE_PREFIX),
      metrics,
      logger,
    }),
    // Probes and scrapes belong on the ops port: on the device port they would answer anyone, before the allow-lists.
    ops: env.INGEST_OPS_ON_DEVICE_PORT ? { registry, ready } : undefined,
  });

  // Older cameras send HTTP/1.1 without a Host header (QUIRKS.md); Node refuses those unless told.
  const server = http.createServer(
    {
      requireHostHeader: false,
      headersTimeout: env.INGEST_HEADERS_TIMEOUT_MS,
      requestTimeout: env.INGEST_REQUEST_TIMEOUT_MS,
      // How often Node looks for requests past those timeouts (its default, 30 s, would let a slowloris linger).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(env.INGEST_HEADERS_TIMEOUT_MS / 4))),
    },
    handler,
  );
  server.keepAliveTimeout = env.INGEST_KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = env.INGEST_MAX_CONNECTIONS;
  server.on('drop', () => metrics.connectionsRefused.inc({ reason: 'server_limit' }));
  trackConnections(server, env, metrics);
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Garbage on the port, a reset mid-request: answer 400 if the socket can still take it, then drop it.
    if (error.code !== 'ECONNRESET' && socket.writable) {
      const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
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
      rateGuard.stop();
      await queue.close();
      await redis.quit().catch(() => redis.disconnect());
      await ops.close();
    },
  };
}

/**
 * Counts open connections, and caps them per source address so one host's slowloris cannot take
 * every slot. The socket peer is what is counted: a trusted proxy (whose connections carry many
 * devices) is exempt; per-device fairness behind it comes from the rate limits.
 */
function trackConnections(server: http.Server, env: IngestEnv, metrics: ReturnType<typeof createIngestMetrics>): void {
  const perAddress = new Map<string, number>();
  const isTrustedProxy = env.TRUSTED_PROXIES.length ? createAddressMatcher(env.TRUSTED_PROXIES) : () => false;
  let open = 0;
  server.on('connection', (socket) => {
    const address = normalizeAddress(socket.remoteAddress ?? 'unknown');
    const limit = env.INGEST_MAX_CONNECTIONS_PER_ADDRESS;
    const counted = limit > 0 && !isTrustedProxy(address);
    if (counted) {
      const current = perAddress.get(address) ?? 0;
      if (current >= limit) {
        metrics.connectionsRefused.inc({ reason: 'per_address_limit' });
        socket.destroy();
        return;
      }
      perAddress.set(address, current + 1);
    }
    metrics.openConnections.set(++open);
    socket.once('close', () => {
      metrics.openConnections.set(--open);
      if (!counted) return;
      const remaining = (perAddress.get(address) ?? 1) - 1;
      if (remaining <= 0) perAddress.delete(address);
      else perAddress.set(address, remaining);
    });
  });
}
