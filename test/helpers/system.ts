import { randomBytes } from 'node:crypto';
import { createIsolation } from './isolation.js';
import { TEST_REDIS_URL } from './redis.js';
import { freePort } from './redis-server.js';
import { ServiceProcess } from './service-process.js';

export type SystemPorts = Record<'ingest' | 'ingestMetrics' | 'archiverMetrics' | 'provisionerMetrics' | 'api' | 'apiMetrics', number>;
export interface ApiAnswer {
  status: number;
  body: any;
  text: string;
}

/**
 * The whole system as `npm start` runs it (services/all/main.ts, one child process) on free
 * ports, with its own database, Redis prefix and data directory, an explicit admin token and
 * credentials key; plus a small client for the admin API. `stop()` kills it and cleans up.
 */
export async function startSystem(label: string, env: Record<string, string> = {}) {
  const isolation = await createIsolation(label);
  const adminToken = env.ADMIN_TOKEN ?? `e2e-admin-${randomBytes(16).toString('hex')}`;
  const ports: SystemPorts = {
    ingest: await freePort(),
    ingestMetrics: await freePort(),
    archiverMetrics: await freePort(),
    provisionerMetrics: await freePort(),
    api: await freePort(),
    apiMetrics: await freePort(),
  };
  const system = ServiceProcess.start('services/all/main.ts', {
    DATABASE_URL: isolation.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: isolation.prefix,
    DATA_DIR: isolation.dataDir,
    ADMIN_TOKEN: adminToken,
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    RECONCILE_INTERVAL_MS: '0',
    INGEST_HOST: '127.0.0.1',
    INGEST_PORT: String(ports.ingest),
    INGEST_METRICS_PORT: String(ports.ingestMetrics),
    ARCHIVER_METRICS_PORT: String(ports.archiverMetrics),
    PROVISIONER_METRICS_PORT: String(ports.provisionerMetrics),
    API_HOST: '127.0.0.1',
    API_PORT: String(ports.api),
    API_METRICS_PORT: String(ports.apiMetrics),
    ...env,
  });
  const logTail = () => system.logs.split('\n').slice(-40).join('\n');

  async function api(method: string, path: string, options: { json?: unknown; jpeg?: Buffer } = {}): Promise<ApiAnswer> {
    const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
    let body: string | Buffer | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.jpeg) {
      headers['content-type'] = 'image/jpeg';
      body = options.jpeg;
    }
    const response = await fetch(`http://127.0.0.1:${ports.api}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, text, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
  }

  /** Like `api`, but insists on the status and says what came back (and the system's log tail) otherwise. */
  async function expectStatus(status: number, method: string, path: string, options: { json?: unknown; jpeg?: Buffer } = {}): Promise<any> {
    const response = await api(method, path, options);
    if (response.status !== status) throw new Error(`${method} ${path} → ${response.status} (wanted ${status}): ${response.text}\n--- system log tail ---\n${logTail()}`);
    return response.body;
  }

  try {
    await system.waitReady(`http://127.0.0.1:${ports.apiMetrics}/readyz`);
    await system.waitReady(`http://127.0.0.1:${ports.ingestMetrics}/readyz`);
    await system.waitReady(`http://127.0.0.1:${ports.provisionerMetrics}/readyz`);
  } catch (error) {
    await system.crash();
    throw error;
  }

  return {
    process: system,
    ports,
    adminToken,
    databaseUrl: isolation.databaseUrl,
    prefix: isolation.prefix,
    api,
    expectStatus,
    logTail,
    metrics: async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    /** SIGTERM and the exit code (the system keeps its data until `cleanup`). */
    stop: () => system.stop(),
    cleanup: async () => {
      await system.crash();
      await isolation.release();
    },
  };
}

export type RunningSystem = Awaited<ReturnType<typeof startSystem>>;
