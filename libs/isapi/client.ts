import { randomBytes } from 'node:crypto';
import { Pool, type Dispatcher } from 'undici';
import { createDigestAuthorization, parseDigestChallenge, type DigestChallenge } from '../digest/digest.js';
import { IsapiError, isOkStatusCode, type IsapiResponseStatus } from './errors.js';
import { extractLock, extractResponseStatus, parseResponseBody } from './response-body.js';

/**
 * One Hikvision device over ISAPI: Digest auth as devices expect it, timeouts, response parsing
 * and classification. Requests run one at a time (devices serialise anyway, and the Digest nonce
 * count stays in order).
 */

export interface IsapiTarget {
  host: string;
  port: number;
  scheme: 'http' | 'https';
  username: string;
  password: string;
}

export interface IsapiRequestSample {
  operation: string;
  /** 'ok' or the IsapiErrorClass. */
  outcome: string;
  durationSeconds: number;
}

export interface IsapiClientOptions {
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  faceTimeoutMs?: number;
  onRequestComplete?: (sample: IsapiRequestSample) => void;
}

export interface IsapiRequest {
  /** Bounded label for metrics and messages, e.g. 'user.record'. */
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Request-target including the query, e.g. `/ISAPI/AccessControl/UserInfo/Record?format=json`. */
  path: string;
  json?: unknown;
  xml?: string;
  multipart?: { body: Buffer; boundary: string };
  timeoutMs?: number;
}

export interface IsapiResult {
  httpStatus: number;
  /** Parsed JSON object, or `{ <root>: content }` for XML (namespaces stripped); null when empty. */
  body: Record<string, unknown> | null;
  rawText: string;
  responseStatus?: IsapiResponseStatus;
  /** statusCode 7: applied, but the device asks for a reboot. */
  rebootRequired: boolean;
}

interface EncodedBody {
  bytes: Buffer;
  contentType: string;
}

interface RawResponse {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  text: string;
}

// Stale nonces may be renewed this often within one request before we give up (guards a looping device).
const MAX_STALE_RENEWALS = 2;

export class IsapiClient {
  readonly origin: string;
  private readonly pool: Pool;
  private readonly requestTimeoutMs: number;
  private readonly faceTimeoutMs: number;
  private readonly onRequestComplete: ((sample: IsapiRequestSample) => void) | undefined;
  /** Only a challenge that has already authenticated a request is reused. */
  private provenChallenge: DigestChallenge | null = null;
  private nonceChallenge: DigestChallenge | null = null;
  private nonceCount = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly target: IsapiTarget,
    options: IsapiClientOptions = {},
  ) {
    const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
    this.origin = `${target.scheme}://${host}:${target.port}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.faceTimeoutMs = options.faceTimeoutMs ?? 30_000;
    this.onRequestComplete = options.onRequestComplete;
    this.pool = new Pool(this.origin, {
      connections: 1,
      // Devices ship self-signed certificates with no way to pin them; the identity check
      // (deviceInfo serialNumber) is what guards against talking to the wrong device.
      connect: { timeout: options.connectTimeoutMs ?? 5_000, rejectUnauthorized: false },
    });
  }

  request(request: IsapiRequest): Promise<IsapiResult> {
    if (this.closed) return Promise.reject(new Error(`IsapiClient for ${this.origin} is closed`));
    const run = this.queue.then(() => this.measured(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.pool.close();
  }

  private async measured(request: IsapiRequest): Promise<IsapiResult> {
    const started = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      return await this.execute(request);
    } catch (error) {
      outcome = error instanceof IsapiError ? error.errorClass : 'error';
      throw error;
    } finally {
      const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      try {
        this.onRequestComplete?.({ operation: request.operation, outcome, durationSeconds });
      } catch {
        // A metrics callback must never change the result of a device call.
      }
    }
  }

  private async execute(request: IsapiRequest): Promise<IsapiResult> {
    const body = encodeBody(request);
    const timeoutMs = request.timeoutMs ?? (request.multipart ? this.faceTimeoutMs : this.requestTimeoutMs);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      let challenge = this.provenChallenge;
      let challengeIsFresh = false;
      let staleRenewals = 0;
      for (;;) {
        const authorization = challenge ? this.authorize(challenge, request) : undefined;
        const response = await this.send(request, body, authorization, controller.signal, timeoutMs);
        if (response.status !== 401) {
          if (challenge) this.provenChallenge = challenge;
          return interpret(request.operation, response);
        }
        const parsed = safeParse(response.text);
        const lock = extractLock(parsed);
        const next = parseDigestChallenge(response.headers['www-authenticate']);
        // A lock means every further attempt (even a correct one) extends it: stop here.
        if (lock?.locked || next === null) {
          this.provenChallenge = null;
          throw authError(request.operation, lock, next === null ? 'device sent no Digest challenge (Basic is never sent)' : undefined);
        }
        const renewStale = next.stale && staleRenewals < MAX_STALE_RENEWALS;
        if (authorization === undefined || !challengeIsFresh || renewStale) {
          // First contact, a cached challenge the device has since dropped, or an expired nonce: not a failed login.
          if (renewStale && authorization !== undefined && challengeIsFresh) staleRenewals += 1;
          challenge = next;
          challengeIsFresh = true;
          continue;
        }
        if (next.stale) {
          throw new IsapiError({ errorClass: 'retry', operation: request.operation, httpStatus: 401, detail: 'device keeps declaring fresh nonces stale' });
        }
        // A response computed from a challenge the device just issued was rejected: wrong credentials.
        this.provenChallenge = null;
        throw authError(request.operation, lock);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private authorize(challenge: DigestChallenge, request: IsapiRequest): string {
    if (challenge !== this.nonceChallenge) {
      this.nonceChallenge = challenge;
      this.nonceCount = 0;
    }
    this.nonceCount += 1;
    try {
      return createDigestAuthorization(challenge, this.target, {
        method: request.method,
        uri: request.path,
        nc: this.nonceCount,
        cnonce: randomBytes(8).toString('hex'),
      });
    } catch (error) {
      // e.g. a SHA-256-only challenge: nothing was sent, and retrying cannot help.
      throw new IsapiError({ errorClass: 'unsupported', operation: request.operation, detail: (error as Error).message, cause: error });
    }
  }

  private async send(request: IsapiRequest, body: EncodedBody | undefined, authorization: string | undefined, signal: AbortSignal, timeoutMs: number): Promise<RawResponse> {
    const headers: Record<string, string> = { accept: '*/*' };
    if (authorization) headers['authorization'] = authorization;
    if (body) headers['content-type'] = body.contentType;
    try {
      const response = await this.pool.request({
        method: request.method,
        path: request.path,
        headers,
        body: body?.bytes ?? null,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, text };
    } catch (error) {
      throw transportError(request.operation, error, signal.aborted, timeoutMs);
    }
  }
}

function encodeBody(request: IsapiRequest): EncodedBody | undefined {
  if (request.multipart) {
    return { bytes: request.multipart.body, contentType: `multipart/form-data; boundary=${request.multipart.boundary}` };
  }
  if (request.json !== undefined) return { bytes: Buffer.from(JSON.stringify(request.json), 'utf8'), contentType: 'application/json' };
  if (request.xml !== undefined) return { bytes: Buffer.from(request.xml, 'utf8'), contentType: 'application/xml' };
  return undefined;
}

function safeParse(text: string): Record<string, unknown> | null {
  try {
    return parseResponseBody(text).body;
  } catch {
    return null;
  }
}

/** A non-401 answer: success, or the IsapiError its status and ResponseStatus classify to. */
function interpret(operation: string, response: RawResponse): IsapiResult {
  let body: Record<string, unknown> | null;
  try {
    body = parseResponseBody(response.text).body;
  } catch (error) {
    const ok = response.status >= 200 && response.status < 300;
    if (!ok) throw IsapiError.fromResponse(operation, response.status);
    // The device answered but we cannot tell what it did: same position as a lost response.
    throw new IsapiError({ errorClass: 'limited_retry', operation, httpStatus: response.status, outcomeUnknown: true, transport: 'unparsable_response', detail: (error as Error).message, cause: error });
  }
  const responseStatus = extractResponseStatus(body);
  const httpOk = response.status >= 200 && response.status < 300;
  // Devices sometimes answer HTTP 200 with an error ResponseStatus: the body wins.
  if (!httpOk || (responseStatus && !isOkStatusCode(responseStatus.statusCode))) {
    throw IsapiError.fromResponse(operation, response.status, responseStatus);
  }
  const result: IsapiResult = { httpStatus: response.status, body, rawText: response.text, rebootRequired: responseStatus?.statusCode === 7 };
  if (responseStatus) result.responseStatus = responseStatus;
  return result;
}

function authError(operation: string, lock: ReturnType<typeof extractLock>, detail?: string): IsapiError {
  return new IsapiError({ errorClass: 'auth', operation, httpStatus: 401, ...(lock ? { lock } : {}), ...(detail ? { detail } : {}) });
}

const CONNECT_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * Connect failures mean nothing was sent (plain retry). Anything after the connection was up —
 * our timeout, a reset, a closed socket — may have reached the device: the outcome is unknown.
 */
function transportError(operation: string, error: unknown, timedOut: boolean, timeoutMs: number): IsapiError {
  const codes = errorCodes(error);
  if (!timedOut && codes.some((code) => CONNECT_FAILURE_CODES.has(code))) {
    return new IsapiError({ errorClass: 'retry', operation, transport: 'connect_failed', outcomeUnknown: false, detail: codes.join('/'), cause: error });
  }
  if (timedOut || codes.includes('UND_ERR_HEADERS_TIMEOUT') || codes.includes('UND_ERR_BODY_TIMEOUT')) {
    return new IsapiError({ errorClass: 'limited_retry', operation, transport: 'timeout', outcomeUnknown: true, detail: `no complete answer within ${timeoutMs} ms`, cause: error });
  }
  return new IsapiError({ errorClass: 'limited_retry', operation, transport: 'connection_reset', outcomeUnknown: true, detail: codes.join('/') || (error as Error).message, cause: error });
}
