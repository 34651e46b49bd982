import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../libs/redis/connection.js';
import { keyLayout, type KeyLayout } from '../../libs/redis/key-layout.js';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export class DeviceBusyElsewhereError extends Error {
  override name = 'DeviceBusyElsewhereError';
}

/**
 * One request in flight per device across every provisioner replica. Jobs of one process for
 * the same device wait in a local line (no Redis polling); the Redis lock (SET NX PX, renewed
 * while held, released only by its owner) serialises replicas. A lock whose owner died expires.
 */
export class DeviceLocks {
  private readonly lines = new Map<string, { tail: Promise<void>; waiting: number }>();
  private readonly keys: KeyLayout;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly options: { ttlMs?: number; maxWaitMs?: number } = {},
  ) {
    this.keys = keyLayout(prefix);
  }

  /** Devices with at least one job of this process queued or running. */
  activeDevices(): number {
    return this.lines.size;
  }

  /** Jobs of this process queued (or running) for the device. */
  lineLength(deviceId: string): number {
    return this.lines.get(deviceId)?.waiting ?? 0;
  }

  async withDevice<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    const line = this.lines.get(deviceId) ?? { tail: Promise.resolve(), waiting: 0 };
    this.lines.set(deviceId, line);
    line.waiting++;
    const previous = line.tail;
    let done!: () => void;
    line.tail = new Promise<void>((resolve) => (done = resolve));
    try {
      await previous;
      return await this.holdingRedisLock(deviceId, work);
    } finally {
      line.waiting--;
      done();
      if (line.waiting === 0) this.lines.delete(deviceId);
    }
  }

  private async holdingRedisLock<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    const key = this.keys.deviceLock(deviceId);
    const token = randomUUID();
    const ttlMs = this.options.ttlMs ?? 30_000;
    const deadline = Date.now() + (this.options.maxWaitMs ?? 5_000);
    for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
      if ((await this.redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') break;
      if (Date.now() + pause > deadline) throw new DeviceBusyElsewhereError(`device ${deviceId} is busy in another provisioner`);
      await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
    }
    const renewal = setInterval(() => void this.redis.eval(RENEW, 1, key, token, String(ttlMs)).catch(() => {}), ttlMs / 3);
    try {
      return await work();
    } finally {
      clearInterval(renewal);
      await this.redis.eval(RELEASE, 1, key, token).catch(() => {});
    }
  }
}
