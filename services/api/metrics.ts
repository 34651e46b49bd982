import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '../../libs/metrics/registry.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createApiMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'hikhub_api_requests_total',
      help: 'Admin API requests answered, by method, route template and status class',
      labelNames: ['method', 'route', 'status_class'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'hikhub_api_request_duration_seconds',
      help: 'Time from request to the end of the answer, by method and route template',
      labelNames: ['method', 'route'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    eventStreamClients: new Gauge({
      name: 'hikhub_api_event_stream_clients',
      help: 'Open live event streams (GET /api/v1/events/stream) on this process',
      registers: [registry],
    }),
    eventStreamDropped: new Counter({
      name: 'hikhub_api_event_stream_dropped_total',
      help: 'Live event streams closed because the client read too slowly (its buffer passed the limit)',
      registers: [registry],
    }),
    eventStreamListening: new Gauge({
      name: 'hikhub_api_event_stream_listening',
      help: '1 while the Postgres connection that LISTENs for archived events is up, else 0',
      registers: [registry],
    }),
    eventStreamReconnects: new Counter({
      name: 'hikhub_api_event_stream_reconnects_total',
      help: 'Times the LISTEN connection for archived events was lost or refused and opened again',
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/**
 * Labels are bounded: the route is express's template (`/api/v1/devices/:id`, never an id), the
 * console's static files share `console` (set by their handler in res.locals.metricsRoute), and
 * requests that matched nothing share one label.
 */
export function measureRequests(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const method = METHODS.has(req.method) ? req.method : 'OTHER';
      const route =
        typeof req.route?.path === 'string' ? req.route.path : typeof res.locals.metricsRoute === 'string' ? res.locals.metricsRoute : res.statusCode === 401 ? 'unauthenticated' : 'unmatched';
      metrics.requests.inc({ method, route, status_class: `${Math.floor(res.statusCode / 100)}xx` });
      metrics.requestDuration.observe({ method, route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
