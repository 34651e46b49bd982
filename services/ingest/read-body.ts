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

const READER = Symbol('hikhub.bodyReader');
type ReadRequest = IncomingMessage & { [READER]?: BodyReader };

/**
 * Reads the whole body into memory, bounded twice: by the per-request limit (→ 413) and by
 * the in-flight byte budget (→ 503). A request that is aborted, or ends short of its
 * Content-Length, yields `aborted`, so nothing is queued for it. Bytes are reserved as they
 * arrive and released by the caller through `release` once the event is written. `stop` ends it
 * early (a body too slow to wait for).
 *
 * A class with shared listeners, not closures: this runs for every device request.
 */
export class BodyReader {
  readonly result: Promise<BodyOutcome>;
  private resolve!: (outcome: BodyOutcome) => void;
  private readonly chunks: Buffer[] = [];
  private readonly declared: number;
  private bytes = 0;
  private reserved = 0;
  private settled = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly maxBytes: number,
    private readonly budget: ByteBudget,
  ) {
    this.result = new Promise<BodyOutcome>((resolve) => (this.resolve = resolve));
    this.declared = Number(req.headers['content-length']);
    if (Number.isFinite(this.declared) && this.declared > maxBytes) {
      this.settled = true;
      this.resolve({ kind: 'too_large', received: 0 });
      return;
    }
    (req as ReadRequest)[READER] = this;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAborted);
    req.on('close', onClose);
  }

  /** Body bytes read so far. */
  received(): number {
    return this.bytes;
  }

  /** Returns the reserved bytes to the budget; the caller calls it once the event is written. */
  release(): void {
    this.budget.release(this.reserved);
    this.reserved = 0;
  }

  /** Ends the read now: the body arrived too slowly (body-rate-guard.ts). */
  tooSlow(): void {
    this.finish({ kind: 'too_slow' });
  }

  /** @internal by the shared listeners below */
  take(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return this.finish({ kind: 'too_large' });
    if (!this.budget.tryReserve(chunk.length)) return this.finish({ kind: 'overloaded' });
    this.reserved += chunk.length;
    this.chunks.push(chunk);
  }

  /** @internal */
  end(): void {
    // Node's parser only ends a request with a Content-Length once every byte arrived;
    // the check stands guard should that ever change.
    if (Number.isFinite(this.declared) && this.bytes !== this.declared) return this.finish({ kind: 'aborted' });
    this.finish({ kind: 'complete', body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes) });
  }

  /** @internal */
  finish(ending: BodyEnding): void {
    if (this.settled) return;
    this.settled = true;
    const { req } = this;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onAborted);
    req.off('close', onClose);
    delete (req as ReadRequest)[READER];
    if (ending.kind !== 'complete') {
      this.release();
      req.pause();
    }
    this.resolve({ ...ending, received: this.bytes });
  }
}

function onData(this: ReadRequest, chunk: Buffer): void {
  this[READER]?.take(chunk);
}
function onEnd(this: ReadRequest): void {
  this[READER]?.end();
}
function onAborted(this: ReadRequest): void {
  this[READER]?.finish({ kind: 'aborted' });
}
function onClose(this: ReadRequest): void {
  // Closed before the last byte: the device went away (Node no longer emits 'aborted' for us to rely on).
  if (!this.complete) this[READER]?.finish({ kind: 'aborted' });
}

export function readBody(req: IncomingMessage, maxBytes: number, budget: ByteBudget): BodyReader {
  return new BodyReader(req, maxBytes, budget);
}
