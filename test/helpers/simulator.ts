import http, { type IncomingHttpHeaders } from 'node:http';
import type { DigestCredentials } from '../../libs/digest/digest.js';
import { DigestSession } from '../../tools/simulator/digest-session.js';
import { buildMultipart, multipartContentType, type BodyPart } from '../../tools/simulator/multipart-body.js';

/** A small ISAPI client for simulator tests: real sockets, one connection per request, Digest. */

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface SendOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
}

/** One request; rejects on a socket error (drop, lose-response) or after `timeoutMs` (default 10 s). */
export function send(baseUrl: string, method: string, target: string, options: SendOptions = {}): Promise<Answer> {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(target, baseUrl), {
      method,
      agent: false,
      headers: { ...(body ? { 'Content-Length': String(body.length) } : {}), ...options.headers },
    });
    request.setTimeout(options.timeoutMs ?? 10_000, () => request.destroy(new Error(`no answer to ${method} ${target}`)));
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: bytes, text: bytes.toString('utf8') });
      });
    });
    request.end(body);
  });
}

export class IsapiTestClient {
  readonly session: DigestSession;

  constructor(
    readonly baseUrl: string,
    credentials: DigestCredentials,
  ) {
    this.session = new DigestSession(credentials);
  }

  /** Digest like a careful client: reuse the last challenge, and on a 401 take the new one and retry once. */
  async request(method: string, target: string, options: SendOptions = {}): Promise<Answer> {
    const attempt = () => {
      const authorization = this.session.authorization(method, target);
      return send(this.baseUrl, method, target, { ...options, headers: { ...options.headers, ...(authorization ? { Authorization: authorization } : {}) } });
    };
    const first = await attempt();
    if (first.status !== 401 || !this.session.accept(first.headers['www-authenticate'])) return first;
    return attempt();
  }

  json(method: string, target: string, value: unknown): Promise<Answer> {
    return this.request(method, target, { body: JSON.stringify(value), headers: { 'Content-Type': 'application/json' } });
  }

  multipart(method: string, target: string, parts: BodyPart[]): Promise<Answer> {
    return this.request(method, target, { body: buildMultipart(parts, 'hikhubFaceBoundary'), headers: { 'Content-Type': multipartContentType('hikhubFaceBoundary') } });
  }
}

export const parseJson = (answer: Answer): any => JSON.parse(answer.text);
