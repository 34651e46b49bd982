import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiEnv } from '../../libs/config/env.js';
import { generateCredentialsKey, resolveSecret } from '../../libs/config/secrets.js';
import { SecretBox } from '../../libs/crypto/secret-box.js';
import { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import { closeServer } from '../../libs/http/ops-server.js';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { PROVISIONING_QUEUE } from '../../libs/jobs/provisioning.js';
import { createQueue } from '../../libs/jobs/queues.js';
import type { RunningService } from '../../libs/lifecycle/run-services.js';
import { startService } from '../../libs/lifecycle/service-scope.js';
import type { Logger } from '../../libs/logger/logger.js';
import { createRegistry } from '../../libs/metrics/registry.js';
import { DesiredState } from '../../libs/provisioning/desired-state.js';
import { ProvisioningJobs } from '../../libs/provisioning/provisioning-jobs.js';
import { createProducerConnection, isRedisReady, waitUntilReady } from '../../libs/redis/connection.js';
import { redactUrl } from '../../libs/config/redact-url.js';
import { createApiApp } from './app.js';
import { EventStreamHub } from './archive/event-stream.js';
import { createHttpsDetector } from './auth.js';
import { SessionSigner } from './session.js';
import { createApiMetrics } from './metrics.js';

export interface RunningApi extends RunningService {
  port: number;
  metricsPort: number;
  /** The token clients must present (from ADMIN_TOKEN or DATA_DIR/secrets/admin-token). */
  adminToken: string;
}

export function startApi(env: ApiEnv, logger: Logger): Promise<RunningApi> {
  return startService('api', logger, async (scope) => {
    const db = await scope.database(env);

    const adminToken = await resolveSecret({ value: env.ADMIN_TOKEN, dataDir: env.DATA_DIR, name: 'admin-token', logger });
    const credentialsKey = await resolveSecret({ value: env.CREDENTIALS_KEY, dataDir: env.DATA_DIR, name: 'credentials.key', generate: generateCredentialsKey, logger });
    const desired = new DesiredState(db, SecretBox.fromText(credentialsKey));

    const registry = createRegistry('api');
    const redis = createProducerConnection(env.REDIS_URL, 'hikhub-api', logger);
    scope.onStop('redis', () => redis.quit().catch(() => redis.disconnect()));
    scope.readyWhen(() => isRedisReady(redis));
    const queue = createQueue(PROVISIONING_QUEUE, redis, env.QUEUE_PREFIX, logger);
    scope.onStop('provisioning queue', () => queue.close());
    const eventsQueue = createQueue(EVENTS_QUEUE, redis, env.QUEUE_PREFIX, logger);
    scope.onStop('events queue', () => eventsQueue.close());
    const metrics = createApiMetrics(registry);
    const eventStream = new EventStreamHub({ databaseUrl: env.DATABASE_URL, db, logger, metrics });
    eventStream.start();
    scope.onStop('live event stream', () => eventStream.close());
    // Serve even when Redis is down at boot: reads work, changes answer 500 and /readyz says why.
    if (!(await waitUntilReady(redis, 5_000))) logger.error({ redis: redactUrl(env.REDIS_URL) }, 'redis not reachable yet');

    const app = createApiApp({
      logger,
      registry,
      metrics,
      ready: () => scope.ready(),
      adminToken,
      sessions: new SessionSigner(adminToken),
      isHttps: createHttpsDetector(env.TRUSTED_PROXIES),
      archive: db,
      dataDir: env.DATA_DIR,
      eventsQueue,
      eventStream,
      desired,
      jobs: new ProvisioningJobs(queue, { attempts: env.PROVISIONING_ATTEMPTS, redis, prefix: env.QUEUE_PREFIX }),
      edgeCredentials: new EdgeCredentialStore(redis, env.QUEUE_PREFIX, { realm: env.INGEST_DIGEST_REALM }),
      eventPushBaseUrl: env.EVENT_PUSH_BASE_URL,
    });

    const server = http.createServer({ headersTimeout: 20_000, requestTimeout: 60_000 }, app);
    server.keepAliveTimeout = 5_000;
    scope.onStop('http server', async () => {
      // Live streams never end by themselves: close them first, or the server would wait on them.
      await eventStream.close();
      await closeServer(server);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(env.API_PORT, env.API_HOST, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const metricsPort = await scope.serveOps(env.API_METRICS_PORT, registry);
    logger.info({ port, metricsPort }, 'admin api listening');
    return { port, metricsPort, adminToken };
  });
}
