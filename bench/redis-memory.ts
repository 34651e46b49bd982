import { Redis } from 'ioredis';
import { EVENTS_QUEUE } from '../libs/jobs/events.js';
import { createQueue } from '../libs/jobs/queues.js';
import { uuidV7 } from '../libs/ids/uuid-v7.js';
import { deleteKeysWithPrefix } from '../libs/redis/keys.js';
import { createEventWriter } from '../services/ingest/event-writer.js';

/** Redis `used_memory`, the allocator's bytes in use. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/**
 * Redis bytes one queued event costs (body chunks + BullMQ job + its list and stream entries),
 * averaged over `count` events written by the ingest's own writer into a fresh prefix.
 * Use a Redis nothing else is writing to.
 */
export async function measureRedisBytesPerEvent(redisUrl: string, bodyBytes: number, count: number): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const prefix = `memory-${uuidV7().slice(-8)}`;
  const queue = createQueue(EVENTS_QUEUE, redis, prefix);
  const write = createEventWriter({ redis, queue, prefix, timeoutMs: 5_000 });
  const body = Buffer.alloc(bodyBytes);
  for (let i = 0; i < bodyBytes; i++) body[i] = (i * 131) & 0xff;
  const record = () => ({
    id: uuidV7(),
    receivedAt: new Date().toISOString(),
    remoteAddress: '192.168.1.64',
    method: 'POST',
    path: '/hikvision/events',
    query: '',
    headers: { 'content-type': 'multipart/form-data; boundary=MIME_boundary', 'content-length': String(bodyBytes), host: '10.0.0.1:8080', 'user-agent': 'Mozilla/5.0' },
  });
  try {
    // Warm up: the queue's meta keys and Lua scripts are one-off costs, not per event.
    await write(record(), body);
    const before = await usedMemory(redis);
    for (let i = 0; i < count; i++) await write(record(), body);
    return ((await usedMemory(redis)) - before) / count;
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await deleteKeysWithPrefix(redis, prefix);
    await queue.close();
    redis.disconnect();
  }
}
