import type { IncomingMessage } from 'node:http';

type BodyEnding = { kind: 'complete'; body: Buffer } | { kind: 'too_large' } | { kind: 'overloaded' } | { kind: 'too_slow' } | { kind: 'aborted' };

/** How the body ended, and how many body bytes were read off the socket (queued or not). */
export type BodyOutcome = BodyEnding & { received: number };

/** Where body bytes held in memory are accounted: the process-wide budget, or one address's share of it (body-slots.ts). */
export interface ByteBudget {
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
}

/** A shared cap on body bytes held in memory by all requests of this process. */
export class InflightBudget implements ByteBudget {
  private used = 0;
  constructor(readonly limit: number) {}
  get bytes(): number {
    return this.used;
  }
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** A body being read: its outcome, the bytes read so far, and a way to stop it early (a body too slow to wait for). */
export interface BodyReader {
  result: Promise<BodyOutcome>;
  /** Returns the reserved bytes to the budget; the caller calls it once the event is written. */
  release: () => void;
  received: () => number;
  stop: (kind: 'too_slow') => void;
}

/**
 * Reads the whole body into memory, bounded twice: by the per-request limit (→ 413) and by
 * the in-flight byte budget (→ 503). A request that is aborted, or ends short of its
 * Content-Length, yields `aborted`, so nothing is queued for it. Bytes are reserved as they
 * arrive and released by the caller through `release` once the event is written.
 */
export function readBody(req: IncomingMessage, maxBytes: number, budget: ByteBudget): BodyReader {
  let reserved = 0;
  let received = 0;
  const release = () => {
    budget.release(reserved);
    reserved = 0;
  };
  let finish: (ending: BodyEnding) => void = () => {};
  const result = new Promise<BodyOutcome>((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) return resolve({ kind: 'too_large', received: 0 });

    const chunks: Buffer[] = [];
    let settled = false;
    finish = (ending: BodyEnding) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
      req.off('close', onClose);
      if (ending.kind !== 'complete') {
        release();
        req.pause();
      }
      resolve({ ...ending, received });
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) return finish({ kind: 'too_large' });
      if (!budget.tryReserve(chunk.length)) return finish({ kind: 'overloaded' });
      reserved += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      // Node's parser only ends a request with a Content-Length once every byte arrived;
      // the check stands guard should that ever change.
      if (Number.isFinite(declared) && received !== declared) return finish({ kind: 'aborted' });
      finish({ kind: 'complete', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received) });
    };
    const onAborted = () => finish({ kind: 'aborted' });
    const onClose = () => {
      if (!req.complete) finish({ kind: 'aborted' });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', onAborted);
    req.on('close', onClose);
  });
  return { result, release, received: () => received, stop: (kind) => finish({ kind }) };
}
