import type { RedisClient } from '../../libs/redis/connection.js';
import { keyLayout, type KeyLayout } from '../../libs/redis/key-layout.js';

/**
 * A per-device circuit breaker, shared by every replica through Redis. When a device cannot be
 * reached (connection refused, timeout) the circuit opens for a while — 1 s, doubling to a
 * 5 min cap while failures continue — and the device's other jobs wait it out instead of each
 * spending a connect timeout on a device that is down. The first job after the pause is the
 * probe (jobs of one device run one at a time); its success closes the circuit.
 */
export class DeviceCircuit {
  private readonly keys: KeyLayout;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly baseMs = 1_000,
    private readonly capMs = 5 * 60_000,
  ) {
    this.keys = keyLayout(prefix);
  }

  private key(deviceId: string): string {
    return this.keys.deviceCircuit(deviceId);
  }

  /** When the circuit closes again, or null when it is closed. */
  async openUntil(deviceId: string): Promise<number | null> {
    const ttl = await this.redis.pttl(this.key(deviceId));
    return ttl > 0 ? Date.now() + ttl : null;
  }

  /** Another failure to reach the device: open (again) for twice as long as last time. */
  async trip(deviceId: string): Promise<number> {
    const failures = await this.redis.incr(this.keys.deviceCircuitFailures(deviceId));
    await this.redis.pexpire(this.keys.deviceCircuitFailures(deviceId), this.capMs * 4);
    const openMs = Math.min(this.capMs, this.baseMs * 2 ** Math.min(failures - 1, 20));
    await this.redis.set(this.key(deviceId), String(failures), 'PX', openMs);
    return Date.now() + openMs;
  }

  async reset(deviceId: string): Promise<void> {
    // Two keys in one DEL: one slot on a cluster, as every key under the hash-tagged prefix.
    await this.redis.del(this.key(deviceId), this.keys.deviceCircuitFailures(deviceId));
  }
}
