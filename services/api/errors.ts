import type { ErrorRequestHandler, RequestHandler } from 'express';
import { DuplicateError, MissingReferenceError } from '../../libs/provisioning/desired-state.js';
import type { Logger } from '../../libs/logger/logger.js';

/** Every error body the API sends: a stable machine code and a sentence for people. */
export interface ErrorBody {
  error: string;
  message: string;
  [extra: string]: unknown;
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, extra?: Record<string, unknown>) => new HttpError(400, 'bad_request', message, extra);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);
export const conflict = (message: string) => new HttpError(409, 'conflict', message);
export const unsupportedMediaType = (message: string) => new HttpError(415, 'unsupported_media_type', message);
export const payloadTooLarge = (message: string) => new HttpError(413, 'payload_too_large', message);

/** Errors thrown by body-parser carry a `type`; those are the client's fault, not ours. */
interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

function bodyParserError(error: unknown): HttpError | null {
  // The router's own 400 for a path segment that is not valid percent-encoding (`%E0%A4%A`).
  if (error instanceof URIError && (error as URIError & { status?: number }).status === 400) return badRequest('the path is not valid percent-encoded UTF-8');
  const { type, limit } = error as BodyParserError;
  switch (type) {
    case 'entity.parse.failed':
      return badRequest('the body is not valid JSON');
    case 'entity.too.large':
      return payloadTooLarge(`the body exceeds ${limit ?? 'the'} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return unsupportedMediaType('unsupported body encoding or charset; send UTF-8 JSON');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return badRequest('the body could not be read');
    default:
      return null;
  }
}

/** Postgres errors that mean bad input slipped past validation (check or foreign-key violations, a NUL character). */
function postgresInputError(error: unknown): HttpError | null {
  const code = (error as { code?: unknown }).code;
  // character_not_in_repertoire / untranslatable_character: text Postgres cannot store (a NUL byte).
  if (code === '22021' || code === '22P05') return badRequest('a value holds a character Postgres cannot store (for example a NUL byte)');
  if (code === '23514') return badRequest('the values contradict each other (for example validTo must be after validFrom)');
  if (code === '23503') return conflict('a referenced record does not exist any more');
  return null;
}

/**
 * Redis or Postgres out of reach: a 503 the client can retry, not a 500. Desired state may
 * already be saved when the enqueue fails; repeating the request (or the scheduled reconcile)
 * queues the work, since job ids coalesce.
 */
function dependencyUnavailable(error: unknown): HttpError | null {
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  const redisDown = name === 'MaxRetriesPerRequestError' || /Stream isn't writeable|Connection is closed|enableOfflineQueue/.test(text);
  const networkDown = typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code);
  const postgresDown = typeof code === 'string' && (/^08/.test(code) || code === '57P01' || code === '57P03');
  if (!redisDown && !networkDown && !postgresDown && !/timeout exceeded when trying to connect|Connection terminated/.test(text)) return null;
  return new HttpError(503, 'unavailable', 'Redis or Postgres is not reachable right now; retry shortly', {}, { 'retry-after': '5' });
}

/** Maps what handlers throw to an HTTP answer; anything unexpected is a logged 500 carrying the request id. */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    // A streaming handler may have announced a trailer; a JSON error body is not chunked and cannot carry one.
    res.removeHeader('trailer');
    const known =
      error instanceof HttpError
        ? error
        : error instanceof DuplicateError
          ? conflict(error.message)
          : error instanceof MissingReferenceError
            ? badRequest(error.message)
            : (bodyParserError(error) ?? postgresInputError(error) ?? dependencyUnavailable(error));
    if (known) {
      res.status(known.status).set(known.headers).json({ error: known.code, message: known.message, ...known.extra } satisfies ErrorBody);
      return;
    }
    const requestId = res.locals.requestId as string | undefined;
    logger.error({ err: error, requestId, method: req.method, route: req.route?.path ?? null }, 'request failed');
    res.status(500).json({ error: 'internal_error', message: 'unexpected error; quote the request id when reporting it', requestId } satisfies ErrorBody);
  };
}

export const unknownRoute: RequestHandler = (req, _res, next) => {
  next(notFound(`no route ${req.method} ${req.path}`));
};
