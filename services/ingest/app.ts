import express, { type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../../libs/logger/logger.js';
import { handleOpsRequest, type ReadinessCheck } from '../../libs/http/ops-server.js';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import { KEPT_HEADERS } from '../../libs/jobs/raw-event.js';
import { TimeoutError } from '../../libs/redis/connection.js';
import type { EdgeDecision, EdgeRequest } from './edge-guard.js';
import type { EventWriter } from './event-writer.js';
import { readBody, type InflightBudget } from './read-body.js';
import type { IngestMetrics, IngestRejectionReason } from './metrics.js';

export interface IngestAppOptions {
  logger: Logger;
  registry: Registry;
  metrics: IngestMetrics;
  writeEvent: EventWriter;
  ready: ReadinessCheck;
  maxBodyBytes: number;
  budget: InflightBudget;
  clientAddress: (peer: string | undefined, forwardedFor: string | undefined) => string;
  /** Path and address allow-lists, authentication, rate limits (edge-guard.ts); runs before any body byte is read. */
  checkEdge: (request: EdgeRequest) => Promise<EdgeDecision>;
  /** Requests receiving or writing a body at once; past it → 503. */
  maxConcurrentBodies: number;
}

/** A refused request's body is read and thrown away to keep the connection for the device's retry — up to this size; larger → the connection is closed. */
const DRAIN_REFUSED_BODY_BYTES = 64 * 1024;

/**
 * The device-facing app: POST on any path is an event (the original server's catch-all route);
 * GET /healthz, /readyz and /metrics are for operators. No body parsing happens here — only
 * streaming, limits and the durable write — so the device gets its answer fast.
 */
export function createIngestApp(options: IngestAppOptions): express.Express {
  const { logger, metrics, budget } = options;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.get(['/healthz', '/readyz', '/metrics'], (req, res, next) => {
    handleOpsRequest(req, res, options.registry, options.ready).then((handled) => (handled ? undefined : next()), next);
  });

  app.post('/{*path}', (req, res) => {
    void receiveEvent(req, res);
  });

  app.use((_req, res) => {
    res.status(405).set('allow', 'POST').type('text/plain').send('Only POST is accepted here\n');
  });

  let bodiesInFlight = 0;

  async function receiveEvent(req: Request, res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    const receivedAt = new Date();

    const answer = (status: number, text: string, reason?: IngestRejectionReason, extraHeaders?: Record<string, string>) => {
      if (reason) metrics.rejections.inc({ reason });
      const statusClass = `${Math.floor(status / 100)}xx`;
      metrics.requests.inc({ status_class: statusClass });
      metrics.requestDuration.observe({ status_class: statusClass }, Number(process.hrtime.bigint() - started) / 1e9);
      if (res.headersSent || res.destroyed) return;
      if (extraHeaders) res.set(extraHeaders);
      res.status(status).type('text/plain').send(text);
    };
    /** Refused before the body was read: Node discards the body after the answer; a large one is not worth reading. */
    const refuse = (status: number, text: string, reason: IngestRejectionReason, headers: Record<string, string>) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      const large = req.headers['transfer-encoding'] !== undefined || !(declared <= DRAIN_REFUSED_BODY_BYTES);
      answer(status, text, reason, large ? { ...headers, connection: 'close' } : headers);
    };

    const target = requestTarget(req.originalUrl);
    const queryIndex = target.indexOf('?');
    const path = queryIndex === -1 ? target : target.slice(0, queryIndex);
    const forwardedFor = req.headers['x-forwarded-for'];
    const remoteAddress = options.clientAddress(req.socket.remoteAddress, Array.isArray(forwardedFor) ? forwardedFor.join(', ') : forwardedFor);

    let decision: EdgeDecision;
    try {
      decision = await options.checkEdge({ req, path, target, address: remoteAddress });
    } catch (error) {
      // Credentials live in Redis: without it nobody can be let in, and the device retries on 503.
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'edge check failed');
      refuse(503, 'Event store unavailable, retry later\n', 'redis_unavailable', { 'retry-after': '5' });
      return;
    }
    if (decision.kind === 'refuse') {
      refuse(decision.status, decision.text, decision.rejection, decision.headers);
      return;
    }
    if (bodiesInFlight >= options.maxConcurrentBodies) {
      refuse(503, 'Busy, retry shortly\n', 'overloaded', { 'retry-after': '1' });
      return;
    }

    bodiesInFlight++;
    metrics.bodiesInFlight.set(bodiesInFlight);
    try {
      await receiveBody(req, receivedAt, answer, decision.recordedPath, queryIndex === -1 ? '' : target.slice(queryIndex + 1), remoteAddress);
    } finally {
      bodiesInFlight--;
      metrics.bodiesInFlight.set(bodiesInFlight);
    }
  }

  async function receiveBody(
    req: Request,
    receivedAt: Date,
    answer: (status: number, text: string, reason?: IngestRejectionReason, extraHeaders?: Record<string, string>) => void,
    path: string,
    query: string,
    remoteAddress: string,
  ): Promise<void> {
    const { result, release } = readBody(req, options.maxBodyBytes, budget);
    const outcome = await result;
    metrics.receivedBytes.inc(outcome.received);

    switch (outcome.kind) {
      case 'aborted':
        // The device went away mid-body: nothing is queued, nobody is listening for an answer.
        metrics.rejections.inc({ reason: 'aborted' });
        return;
      case 'too_large':
        answer(413, `Body larger than ${options.maxBodyBytes} bytes\n`, 'too_large', { connection: 'close' });
        return;
      case 'overloaded':
        answer(503, 'Busy, retry shortly\n', 'overloaded', { connection: 'close', 'retry-after': '1' });
        return;
    }

    const id = uuidV7(receivedAt.getTime());
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = req.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const enqueueStarted = process.hrtime.bigint();
    try {
      await options.writeEvent(
        {
          id,
          receivedAt: receivedAt.toISOString(),
          remoteAddress,
          method: req.method,
          path,
          query,
          headers,
        },
        outcome.body,
      );
      metrics.enqueueDuration.observe(Number(process.hrtime.bigint() - enqueueStarted) / 1e9);
      metrics.queuedEvents.inc();
      // The id lets an integrator or a test find the archived row; devices ignore it.
      answer(200, 'OK\n', undefined, { 'x-event-id': id });
    } catch (error) {
      const reason = rejectionReason(error);
      logger.warn({ err: error, eventId: id, reason }, 'event not queued');
      answer(503, reason === 'redis_full' ? 'Event store full, retry later\n' : 'Event store unavailable, retry later\n', reason, { 'retry-after': '5' });
    } finally {
      release();
    }
  }

  return app;
}

/** Path and query of the request line; an absolute-form target (`POST http://host/p`, sent through some proxies) loses its scheme and host. */
export function requestTarget(url: string): string {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  if (!absolute) return url;
  const rest = url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Why the durable write failed: Redis slow, Redis full (noeviction at maxmemory), or Redis unreachable. */
function rejectionReason(error: unknown): IngestRejectionReason {
  if (error instanceof TimeoutError) return 'enqueue_timeout';
  if (error instanceof Error && error.message.startsWith('OOM')) return 'redis_full';
  return 'redis_unavailable';
}
