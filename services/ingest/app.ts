import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../../libs/logger/logger.js';
import { handleOpsRequest, type ReadinessCheck } from '../../libs/http/ops-server.js';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import { KEPT_HEADERS } from '../../libs/jobs/raw-event.js';
import { TimeoutError } from '../../libs/redis/connection.js';
import type { BodyRateGuard } from './body-rate-guard.js';
import type { BodySlots } from './body-slots.js';
import type { EdgeDecision, EdgeRequest } from './edge-guard.js';
import type { EventWriter } from './event-writer.js';
import type { IngestMetrics, IngestRejectionReason, StatusClass } from './metrics.js';
import { readBody } from './read-body.js';

export interface IngestHandlerOptions {
  logger: Logger;
  metrics: IngestMetrics;
  writeEvent: EventWriter;
  maxBodyBytes: number;
  /** Body slots and in-flight bytes, shared fairly between client addresses. */
  slots: BodySlots;
  /** Cuts off bodies that arrive too slowly (→ 408). */
  rateGuard: BodyRateGuard;
  clientAddress: (peer: string | undefined, forwardedFor: string | undefined) => string;
  /** Path and address allow-lists, authentication, rate limits (edge-guard.ts); runs before any body byte is read. */
  checkEdge: (request: EdgeRequest) => Promise<EdgeDecision>;
  /** Set when /healthz, /readyz and /metrics are also answered on the device port (INGEST_OPS_ON_DEVICE_PORT). */
  ops?: { registry: Registry; ready: ReadinessCheck };
}

/** A refused request's body is read and thrown away to keep the connection for the device's retry — up to this size; larger → the connection is closed. */
const DRAIN_REFUSED_BODY_BYTES = 64 * 1024;

const STATUS_CLASS: Record<number, StatusClass> = { 2: '2xx', 4: '4xx', 5: '5xx' };

/**
 * The device port's request handler, plain node:http (no framework router on the hot path):
 * POST on any path is an event (the original server's catch-all route); any other method is 405.
 * No body parsing happens here — only the edge checks, streaming within limits and the durable
 * write — so the device gets its answer fast. /healthz, /readyz and /metrics live on the ops port
 * (INGEST_METRICS_PORT), not here, unless `ops` is given.
 */
export function createIngestHandler(options: IngestHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, metrics, slots, rateGuard, ops } = options;
  const { tally } = metrics;

  return function handleRequest(req, res) {
    if (req.method === 'POST') {
      void receiveEvent(req, res);
      return;
    }
    if (ops) {
      handleOpsRequest(req, res, ops.registry, ops.ready).then(
        (handled) => handled || notAllowed(res),
        () => notAllowed(res),
      );
      return;
    }
    notAllowed(res);
  };

  // Created once, not per request: this is the hot path.
  function answer(res: ServerResponse, started: bigint, status: number, text: string, reason?: IngestRejectionReason, extraHeaders?: Record<string, string>): void {
    if (reason) metrics.rejections.inc({ reason });
    const statusClass = STATUS_CLASS[Math.floor(status / 100)] ?? '5xx';
    tally.requests[statusClass]++;
    metrics.requestDuration.observe({ status_class: statusClass }, Number(process.hrtime.bigint() - started) / 1e9);
    if (res.headersSent || res.destroyed) return;
    send(res, status, text, extraHeaders);
  }

  /** Refused before the body was read: Node discards the body after the answer; a large one is not worth reading. */
  function refuse(req: IncomingMessage, res: ServerResponse, started: bigint, status: number, text: string, reason: IngestRejectionReason, headers: Record<string, string>): void {
    const declared = Number(req.headers['content-length'] ?? 0);
    const large = req.headers['transfer-encoding'] !== undefined || !(declared <= DRAIN_REFUSED_BODY_BYTES);
    answer(res, started, status, text, reason, large ? { ...headers, connection: 'close' } : headers);
  }

  async function receiveEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const receivedAt = new Date();

    const target = requestTarget(req.url ?? '/');
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
      refuse(req, res, started, 503, 'Event store unavailable, retry later\n', 'redis_unavailable', { 'retry-after': '5' });
      return;
    }
    if (decision.kind === 'refuse') {
      refuse(req, res, started, decision.status, decision.text, decision.rejection, decision.headers);
      return;
    }
    const slot = slots.acquire(remoteAddress);
    if (slot === 'overloaded') {
      refuse(req, res, started, 503, 'Busy, retry shortly\n', 'overloaded', { 'retry-after': '1' });
      return;
    }
    if (slot === 'address_share') {
      // This address already has its share of body slots open (many at once, or slow ones): others keep theirs.
      refuse(req, res, started, 503, 'Too many requests in progress from this address, retry shortly\n', 'address_busy', { 'retry-after': '1' });
      return;
    }

    const reader = readBody(req, options.maxBodyBytes, slot);
    const watch = rateGuard.watch(reader);
    try {
      const outcome = await reader.result;
      rateGuard.unwatch(watch);
      tally.receivedBytes += outcome.received;
      switch (outcome.kind) {
        case 'aborted':
          // The device went away mid-body: nothing is queued, nobody is listening for an answer.
          metrics.rejections.inc({ reason: 'aborted' });
          return;
        case 'too_large':
          answer(res, started, 413, `Body larger than ${options.maxBodyBytes} bytes\n`, 'too_large', { connection: 'close' });
          return;
        case 'overloaded':
          answer(res, started, 503, 'Busy, retry shortly\n', 'overloaded', { connection: 'close', 'retry-after': '1' });
          return;
        case 'too_slow':
          // Below the minimum body rate for a whole window: the slot goes to someone else, the connection is closed.
          res.once('finish', () => req.socket.destroy());
          answer(res, started, 408, 'Body too slow\n', 'too_slow', { connection: 'close' });
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
            method: 'POST',
            path: decision.recordedPath,
            query: decision.recordedQuery,
            headers,
          },
          outcome.body,
        );
        metrics.enqueueDuration.observe(Number(process.hrtime.bigint() - enqueueStarted) / 1e9);
        tally.queuedEvents++;
        // The id lets an integrator or a test find the archived row; devices ignore it.
        answer(res, started, 200, 'OK\n', undefined, { 'x-event-id': id });
      } catch (error) {
        const reason = rejectionReason(error);
        logger.warn({ err: error, eventId: id, reason }, 'event not queued');
        answer(res, started, 503, reason === 'redis_full' ? 'Event store full, retry later\n' : 'Event store unavailable, retry later\n', reason, { 'retry-after': '5' });
      }
    } finally {
      rateGuard.unwatch(watch);
      reader.release();
      slot.close();
    }
  }
}

function send(res: ServerResponse, status: number, text: string, extraHeaders?: Record<string, string>): void {
  const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  res.writeHead(status, headers);
  res.end(text);
}

/** Anything but POST. A device's GET (some test their push target that way) learns the server is there and takes POST only. */
function notAllowed(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  send(res, 405, 'Only POST is accepted here\n', { allow: 'POST' });
}

/** Path and query of the request line; an absolute-form target (`POST http://host/p`, sent through some proxies) loses its scheme and host. */
export function requestTarget(url: string): string {
  if (url.charCodeAt(0) === 47 /* "/" */) return url;
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  if (!absolute) return url;
  const rest = url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Why the durable write failed: Redis slow, Redis full (noeviction at maxmemory), or Redis unreachable. */
function rejectionReason(error: unknown): IngestRejectionReason {
  if (error instanceof TimeoutError) return 'enqueue_timeout';
  // In a MULTI, an OOM refusal aborts the transaction (EXECABORT) and travels in previousErrors.
  const errors = error instanceof Error ? [error, ...((error as { previousErrors?: unknown[] }).previousErrors ?? [])] : [];
  if (errors.some((e) => e instanceof Error && e.message.startsWith('OOM'))) return 'redis_full';
  return 'redis_unavailable';
}
