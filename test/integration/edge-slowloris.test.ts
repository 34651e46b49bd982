import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIngest } from '../helpers/ingest.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { createTestPrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const XML = '<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>';

interface SlowClient {
  socket: net.Socket;
  closed: Promise<void>;
  isClosed: () => boolean;
}

/** A connection from `localAddress` that sends `head`, then one more byte of `drip` every 250 ms, forever. */
function slowClient(port: number, localAddress: string, head: string, drip: string): SlowClient {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(head);
    timer = setInterval(() => socket.write(drip), 250);
  });
  socket.on('error', () => {});
  socket.on('data', () => {});
  const done = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      clearInterval(timer);
      resolve();
    }),
  );
  return { socket, closed: done, isClosed: () => closed };
}

describe('slow clients (slowloris) do not stop other devices', () => {
  const { prefix, cleanup } = createTestPrefix('edge-slowloris');
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  const clients: SlowClient[] = [];

  beforeAll(async () => {
    ingest = await startTestIngest({
      QUEUE_PREFIX: prefix,
      INGEST_HEADERS_TIMEOUT_MS: '1500',
      INGEST_REQUEST_TIMEOUT_MS: '3000',
      INGEST_MAX_CONNECTIONS_PER_ADDRESS: '100',
    });
  });

  afterAll(async () => {
    for (const client of clients) client.socket.destroy();
    await ingest?.stop();
    await cleanup();
  });

  it('serves a device while 350 connections trickle headers or bodies, then closes the slow ones', async () => {
    // 300 header tricklers from three addresses (100 each, the per-address cap), 50 over the cap,
    // and 50 that send headers at once and then a body one byte at a time.
    for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
      for (let i = 0; i < 100; i++) clients.push(slowClient(ingest.port, address, 'POST /slow HTTP/1.1\r\nHost: x\r\n', 'X'));
    }
    const overCap = Array.from({ length: 50 }, () => slowClient(ingest.port, '127.0.0.2', 'POST /slow HTTP/1.1\r\n', 'X'));
    const bodies = Array.from({ length: 50 }, () => slowClient(ingest.port, '127.0.0.5', 'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', 'x'));
    clients.push(...overCap, ...bodies);
    await waitFor(async () => overCap.every((client) => client.isClosed()), 10_000, 'connections over the per-address cap to be closed');

    for (let i = 0; i < 20; i++) {
      const response = await sendRaw(ingest.port, buildPost(`/device/${i}`, XML), { timeoutMs: 5_000 });
      expect(response?.status).toBe(200);
    }

    // Headers timeout and request timeout end every slow connection.
    await waitFor(async () => clients.every((client) => client.isClosed()), 15_000, 'the server to close every slow connection');
    const metrics = await (await fetch(`http://127.0.0.1:${ingest.metricsPort}/metrics`)).text();
    expect(Number(/hikhub_ingest_connections_refused_total\{reason="per_address_limit",service="ingest"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(50);
    expect((await sendRaw(ingest.port, buildPost('/device/after', XML)))?.status).toBe(200);
  }, 40_000);
});
