/** A body being received, as the guard sees it. */
export interface WatchedBody {
  /** Body bytes read so far. */
  received(): number;
  /** Called once when the body stayed below the minimum rate for a whole window. */
  tooSlow(): void;
}

/** A body being watched; hand it back to `unwatch`. */
export interface Watch {
  body: WatchedBody;
  windowStart: number;
  receivedAtStart: number;
}

/**
 * Enforces a minimum body rate: a body that receives fewer than `minBytesPerSecond` over a window
 * of `windowMs` is cut off (the caller answers 408 and closes the connection), so a client
 * trickling bytes cannot hold a body slot until the request timeout. One timer for all bodies,
 * so a fast request costs a Set insert and delete; a body that ends within its first window is
 * never looked at.
 */
export class BodyRateGuard {
  private readonly watched = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly minBytesPerSecond: number,
    private readonly windowMs: number,
  ) {}

  /** Starts watching `body`; `unwatch` the result when the body ended, however. */
  watch(body: WatchedBody): Watch | null {
    if (this.minBytesPerSecond <= 0) return null;
    const entry: Watch = { body, windowStart: Date.now(), receivedAtStart: 0 };
    this.watched.add(entry);
    // A quarter window between checks: a slow body is cut between 1 and 1.25 windows after it fell behind.
    this.timer ??= setInterval(() => this.check(), Math.max(50, Math.floor(this.windowMs / 4))).unref();
    return entry;
  }

  unwatch(entry: Watch | null): void {
    if (entry) this.watched.delete(entry);
  }

  private check(): void {
    const now = Date.now();
    for (const entry of this.watched) {
      const elapsed = now - entry.windowStart;
      if (elapsed < this.windowMs) continue;
      const received = entry.body.received();
      if (received - entry.receivedAtStart < (this.minBytesPerSecond * elapsed) / 1000) {
        this.watched.delete(entry);
        entry.body.tooSlow();
        continue;
      }
      entry.windowStart = now;
      entry.receivedAtStart = received;
    }
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }
}
