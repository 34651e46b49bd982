import net from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { startTestIngest } from '../helpers/ingest.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';

const XML = '<EventNotificationAlert><eventType>IO</eventType></EventNotificationAlert>';

describe('ingest graceful shutdown', () => {
  const { prefix, cleanup } = createTestPrefix('shutdown');
  afterAll(cleanup);

  it('goes unready, refuses new connections, and still queues the request that was mid-body', async () => {
    const ingest = await startTestIngest({ QUEUE_PREFIX: prefix });
    const redis = new Redis(TEST_REDIS_URL);
    const queue = new Queue(EVENTS_QUEUE, { connection: redis, prefix });
    try {
      // A device halfway through its body when SIGTERM arrives.
      const socket = net.connect(ingest.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const response = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('close', () => resolve(text));
      });
      socket.write(`POST /late HTTP/1.1\r\nHost: x\r\nContent-Length: ${XML.length}\r\nConnection: close\r\n\r\n${XML.slice(0, 10)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));

      const stopping = ingest.stop();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await expect(fetch(`http://127.0.0.1:${ingest.port}/healthz`)).rejects.toThrow();

      socket.write(XML.slice(10));
      expect(await response).toMatch(/^HTTP\/1\.1 200 OK/);
      await stopping;
      const [job] = await queue.getJobs(['waiting'], 0, 0);
      expect(job?.data.path).toBe('/late');
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
