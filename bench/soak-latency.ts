import pg from 'pg';
import { EVENTS_CHANNEL } from '../services/api/archive/event-stream.js';

export interface LatencySummary {
  /** Acknowledged events whose row was notified. */
  archived: number;
  /** Acknowledged events never notified (by the time `summary` was taken). */
  notArchived: number;
  /** Notifications for ids this run never saw acknowledged (should be 0). */
  unmatched: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const now = () => performance.timeOrigin + performance.now();

/**
 * From the ingest's 200 to the row being queryable: the pusher reports each acknowledged
 * `x-event-id` with the time of its answer, and one LISTEN connection on the archive's
 * notification channel gives the time each row was committed (a NOTIFY is delivered at commit).
 * Either side may come first; an id is kept until both are known, then only its latency stays.
 */
export class ArchiveLatency {
  private readonly acked = new Map<string, number>();
  private readonly notified = new Map<string, number>();
  private readonly latencies: number[] = [];

  private constructor(private readonly client: pg.Client) {}

  static async listen(databaseUrl: string): Promise<ArchiveLatency> {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'hikhub-bench-soak-listen' });
    await client.connect();
    const tracker = new ArchiveLatency(client);
    client.on('notification', (message) => {
      if (message.channel === EVENTS_CHANNEL && message.payload) tracker.onArchived(message.payload, now());
    });
    client.on('error', () => {});
    await client.query(`listen ${EVENTS_CHANNEL}`);
    return tracker;
  }

  onAcknowledged(id: string, answeredAtMs: number): void {
    const archivedAt = this.notified.get(id);
    if (archivedAt === undefined) {
      this.acked.set(id, answeredAtMs);
      return;
    }
    this.notified.delete(id);
    this.latencies.push(archivedAt - answeredAtMs);
  }

  private onArchived(id: string, atMs: number): void {
    const answeredAt = this.acked.get(id);
    if (answeredAt === undefined) {
      this.notified.set(id, atMs);
      return;
    }
    this.acked.delete(id);
    this.latencies.push(atMs - answeredAt);
  }

  get archivedCount(): number {
    return this.latencies.length;
  }

  /** Acknowledged, not yet archived. */
  get outstanding(): number {
    return this.acked.size;
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.latencies).sort();
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);
    return {
      archived: sorted.length,
      notArchived: this.acked.size,
      unmatched: this.notified.size,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: sorted.length ? sorted[sorted.length - 1]! : NaN,
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
