import { parseXmlDocument } from '../hikvision/xml-document.js';
import type { IsapiLock, IsapiResponseStatus } from './errors.js';

/**
 * Device response bodies. The format is decided by the first non-blank character, never by
 * Content-Type: firmware labels XML as JSON (and `deviceInfo` answers XML to `?format=json`).
 * XML becomes `{ <root local name>: content }` with namespace prefixes removed and values as strings;
 * DOCTYPE/ENTITY documents are refused by the shared XML parser.
 */

export type ParsedBody = { format: 'json' | 'xml'; body: Record<string, unknown> } | { format: 'empty' | 'text'; body: null };

export function parseResponseBody(rawText: string): ParsedBody {
  const text = rawText.replace(/^\uFEFF/, '').trimStart();
  if (text === '') return { format: 'empty', body: null };
  if (text.startsWith('{')) {
    const parsed: unknown = JSON.parse(text);
    return { format: 'json', body: asRecord(parsed) ?? {} };
  }
  if (text.startsWith('<')) {
    const { root, content } = parseXmlDocument(text);
    return { format: 'xml', body: { [root]: content } };
  }
  return { format: 'text', body: null };
}

export const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** A list field: firmware (and XML parsing) give one object instead of a one-element array. */
export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

export function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

export function asBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return undefined;
}

/** JSON ResponseStatus (fields at top level) or XML `<ResponseStatus>`; undefined for other documents. */
export function extractResponseStatus(body: Record<string, unknown> | null): IsapiResponseStatus | undefined {
  if (body === null) return undefined;
  const candidate = 'statusCode' in body ? body : asRecord(body['ResponseStatus']);
  if (candidate === undefined) return undefined;
  const statusCode = asNumber(candidate['statusCode']);
  if (statusCode === undefined) return undefined;
  const status: IsapiResponseStatus = {
    statusCode,
    statusString: asString(candidate['statusString']) ?? '',
    subStatusCode: asString(candidate['subStatusCode']) ?? '',
  };
  const errorCode = asNumber(candidate['errorCode']);
  const errorMsg = asString(candidate['errorMsg']);
  if (errorCode !== undefined) status.errorCode = errorCode;
  if (errorMsg !== undefined && errorMsg !== '') status.errorMsg = errorMsg;
  return status;
}

/**
 * Lock details in a 401 body: `<userCheck>` with lockStatus/unlockTime/retryLoginTime, or the
 * ResponseStatus variant with lockStatus/resLockTime/retryTimes (JSON or XML).
 */
export function extractLock(body: Record<string, unknown> | null): IsapiLock | undefined {
  if (body === null) return undefined;
  const candidates = [body, asRecord(body['userCheck']), asRecord(body['ResponseStatus'])].filter((c): c is Record<string, unknown> => c !== undefined);
  for (const candidate of candidates) {
    const lockStatus = asString(candidate['lockStatus']);
    const unlockInSeconds = asNumber(candidate['unlockTime']) ?? asNumber(candidate['resLockTime']);
    const retriesLeft = asNumber(candidate['retryLoginTime']) ?? asNumber(candidate['retryTimes']);
    if (lockStatus === undefined && unlockInSeconds === undefined && retriesLeft === undefined) continue;
    const lock: IsapiLock = { locked: lockStatus?.toLowerCase() === 'lock' };
    if (unlockInSeconds !== undefined) lock.unlockInSeconds = unlockInSeconds;
    if (retriesLeft !== undefined) lock.retriesLeft = retriesLeft;
    return lock;
  }
  return undefined;
}
