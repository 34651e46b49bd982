import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type ReadinessCheck = () => Promise<boolean> | boolean;

/** Answers GET /healthz, /readyz and /metrics for a service; used by ingest's main port and every metrics port. */
export async function handleOpsRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  registry: Registry,
  ready: ReadinessCheck,
): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') {
    send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    return true;
  }
  if (path === '/readyz') {
    let isReady = false;
    try {
      isReady = await ready();
    } catch {
      isReady = false;
    }
    send(res, isReady ? 200 : 503, 'text/plain; charset=utf-8', isReady ? 'ready\n' : 'not ready\n');
    return true;
  }
  if (path === '/metrics') {
    send(res, 200, registry.contentType, await registry.metrics());
    return true;
  }
  return false;
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A small server on its own port for probes and Prometheus scrapes. */
export async function startOpsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  ready: ReadinessCheck;
}): Promise<{ server: http.Server; port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    handleOpsRequest(req, res, options.registry, options.ready)
      .then((handled) => {
        if (!handled) send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      })
      .catch(() => {
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'error\n');
      });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => closeServer(server),
  };
}

/**
 * Stop accepting, let in-flight requests finish, and drop keep-alive sockets as soon as they go
 * idle (devices keep connections open; waiting for keepAliveTimeout would stall the shutdown).
 */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const sweeper = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(sweeper);
      resolve();
    });
    server.closeIdleConnections();
  });
}
