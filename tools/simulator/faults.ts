import { ERROR_TUPLES, isKnownSubStatusCode, type IsapiErrorTuple } from './error-tuples.js';
import { isObject } from './validation.js';

/**
 * Programmed misbehaviour, consumed by authenticated ISAPI requests in the order queued (the Digest
 * handshake is never disturbed, so `times: 1` hits exactly one real attempt):
 * - `busy`: 503 + statusCode 2 deviceBusy, nothing applied;
 * - `error`: any ISAPI error tuple, nothing applied;
 * - `drop`: the socket is destroyed before the request is handled, nothing applied;
 * - `lose-response`: the request is applied, then the socket is destroyed without an answer
 *   (a timeout after commit);
 * - `hang`: nothing applied and never answered; the socket stays open until the client gives up
 *   or the terminal closes.
 */

export interface FaultMatch {
  method?: string;
  pathIncludes?: string;
}

export type FaultKind = 'busy' | 'error' | 'drop' | 'lose-response' | 'hang';

export interface FaultSpec {
  match?: FaultMatch;
  /** How many matching requests it affects (default 1). */
  times?: number;
  kind: FaultKind;
  /** For `error`: a tuple, or the subStatusCode of one in ERROR_TUPLES. */
  error?: IsapiErrorTuple | string;
}

export interface ActiveFault {
  kind: FaultKind;
  /** The tuple answered for `busy` and `error`. */
  tuple?: IsapiErrorTuple;
}

interface PendingFault {
  match: FaultMatch;
  remaining: number;
  fault: ActiveFault;
}

const KINDS: readonly FaultKind[] = ['busy', 'error', 'drop', 'lose-response', 'hang'];

/** Validates a spec (from code or the control API); throws with a readable message. */
export function parseFaultSpec(input: unknown): FaultSpec {
  if (!isObject(input)) throw new Error('a fault is an object');
  const { kind, times, match, error } = input;
  if (typeof kind !== 'string' || !KINDS.includes(kind as FaultKind)) throw new Error(`kind must be one of ${KINDS.join(', ')}`);
  if (times !== undefined && (!Number.isInteger(times) || (times as number) < 1)) throw new Error('times must be a positive integer');
  if (match !== undefined && !isObject(match)) throw new Error('match must be an object');
  const spec: FaultSpec = { kind: kind as FaultKind, times: (times as number | undefined) ?? 1 };
  if (match) {
    spec.match = {};
    if (typeof match.method === 'string') spec.match.method = match.method.toUpperCase();
    if (typeof match.pathIncludes === 'string') spec.match.pathIncludes = match.pathIncludes;
  }
  if (kind === 'error') spec.error = resolveTuple(error);
  return spec;
}

function resolveTuple(error: unknown): IsapiErrorTuple {
  if (typeof error === 'string') {
    if (!isKnownSubStatusCode(error)) throw new Error(`unknown subStatusCode ${error}`);
    return ERROR_TUPLES[error];
  }
  if (!isObject(error)) throw new Error('an error fault needs `error`: a subStatusCode or {httpStatus, statusCode, statusString, subStatusCode}');
  const { httpStatus, statusCode, statusString, subStatusCode, errorCode, errorMsg } = error;
  if (!Number.isInteger(httpStatus) || !Number.isInteger(statusCode) || typeof statusString !== 'string' || typeof subStatusCode !== 'string') {
    throw new Error('an error tuple needs httpStatus, statusCode, statusString and subStatusCode');
  }
  const tuple: IsapiErrorTuple = { httpStatus: httpStatus as number, statusCode: statusCode as number, statusString, subStatusCode };
  if (typeof errorCode === 'number') tuple.errorCode = errorCode;
  if (typeof errorMsg === 'string') tuple.errorMsg = errorMsg;
  return tuple;
}

export class FaultQueue {
  private pending: PendingFault[] = [];

  add(input: FaultSpec): void {
    const spec = parseFaultSpec(input);
    const tuple = spec.kind === 'busy' ? ERROR_TUPLES.deviceBusy : spec.kind === 'error' ? (spec.error as IsapiErrorTuple) : undefined;
    this.pending.push({ match: spec.match ?? {}, remaining: spec.times ?? 1, fault: { kind: spec.kind, ...(tuple ? { tuple } : {}) } });
  }

  /** The first pending fault matching the request, counted as used. */
  take(method: string, target: string): ActiveFault | undefined {
    const entry = this.pending.find(({ match }) => (!match.method || match.method === method) && (!match.pathIncludes || target.includes(match.pathIncludes)));
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.pending = this.pending.filter((other) => other !== entry);
    return entry.fault;
  }

  clear(): void {
    this.pending = [];
  }

  snapshot(): { kind: FaultKind; remaining: number; match: FaultMatch; subStatusCode?: string }[] {
    return this.pending.map(({ fault, remaining, match }) => ({ kind: fault.kind, remaining, match, ...(fault.tuple ? { subStatusCode: fault.tuple.subStatusCode } : {}) }));
  }
}
