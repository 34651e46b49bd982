import type { Redis } from 'ioredis';

/**
 * A per-device circuit breaker, shared by every replica through Redis. When a device cannot be
 * reached (connection refused, timeout) the circuit opens for a while — 1 s, doubling to a
 * 5 min cap while failures continue — and the device's other jobs wait it out instead of each
 * spending a connect timeout on a device that is down. The first job after the pause is the
 * probe (jobs of one device run one at a time); its success closes the circuit.
 */
export class DeviceCircuit {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly baseMs = 1_000,
    private readonly capMs = 5 * 60_000,
  ) {}

  private key(deviceId: string): string {
    return `${this.prefix}:isapi:circuit:${deviceId}`;
  }

  /** When the circuit closes again, or null when it is closed. */
  async openUntil(deviceId: string): Promise<number | null> {
    const ttl = await this.redis.pttl(this.key(deviceId));
    return ttl > 0 ? Date.now() + ttl : null;
  }

  /** Another failure to reach the device: open (again) for twice as long as last time. */
  async trip(deviceId: string): Promise<number> {
    const failures = await this.redis.incr(`${this.key(deviceId)}:failures`);
    await this.redis.pexpire(`${this.key(deviceId)}:failures`, this.capMs * 4);
    const openMs = Math.min(this.capMs, this.baseMs * 2 ** Math.min(failures - 1, 20));
    await this.redis.set(this.key(deviceId), String(failures), 'PX', openMs);
    return Date.now() + openMs;
  }

  async reset(deviceId: string): Promise<void> {
    await this.redis.del(this.key(deviceId), `${this.key(deviceId)}:failures`);
  }
}
