import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIngest } from '../helpers/ingest.js';
import { buildPost, sendRaw } from '../helpers/raw-http.js';
import { createTestPrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const XML = '<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>';

/** Slots of the whole process in this test; the attack below opens more body requests than that. */
const MAX_BODIES = 64;
const PER_ADDRESS = 16;
const ATTACKERS_PER_ADDRESS = 48;
const ATTACK_ADDRESSES = ['127.0.0.2', '127.0.0.3'];

interface SlowBody {
  /** Everything the server sent back. */
  answer: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
  destroy: () => void;
}

/** A request from `localAddress` that announces a large body, then sends one byte every `everyMs` (Linux routes all of 127/8 to lo). */
function slowBody(port: number, localAddress: string, everyMs: number): SlowBody {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  let text = '';
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n<');
    timer = setInterval(() => socket.write('x'), everyMs);
  });
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  const done = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      clearInterval(timer);
      resolve();
    }),
  );
  return {
    answer: () => text,
    closed: done,
    isClosed: () => closed,
    destroy: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? NaN);
}

describe('slow bodies from a few addresses do not starve other devices', () => {
  const { prefix, cleanup } = createTestPrefix('ingest-fair-bodies');
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  const clients: SlowBody[] = [];

  beforeAll(async () => {
    ingest = await startTestIngest({
      QUEUE_PREFIX: prefix,
      INGEST_MAX_CONCURRENT_BODIES: String(MAX_BODIES),
      INGEST_MAX_BODIES_PER_ADDRESS: String(PER_ADDRESS),
      // 1 KiB/s over 3 s: the attack's 0.5 B/s is far below it; a device's body arrives at once.
      INGEST_MIN_BODY_RATE: '1KiB',
      INGEST_BODY_RATE_WINDOW_MS: '3000',
    });
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await ingest?.stop();
    await cleanup();
  });

  it('serves a device on 127.0.0.1 while two addresses hold more slow bodies than the process has slots, then answers the slow ones 408', async () => {
    // 96 slow bodies, more than the 64 slots: before per-address shares they took every slot and everyone else got 503.
    for (const address of ATTACK_ADDRESSES) {
      for (let i = 0; i < ATTACKERS_PER_ADDRESS; i++) clients.push(slowBody(ingest.port, address, 2_000));
    }
    const slowMetric = (name: string) => metric(ingest.metricsPort, new RegExp(`${name}\\{service="ingest"\\} (\\d+)`));
    const refusedForShare = () => metric(ingest.metricsPort, /hikhub_ingest_rejections_total\{reason="address_busy",service="ingest"\} (\d+)/);
    // Each address holds its share; the rest of its requests are refused at once.
    await waitFor(async () => (await refusedForShare()) >= ATTACK_ADDRESSES.length * (ATTACKERS_PER_ADDRESS - PER_ADDRESS), 10_000, 'the over-share requests to be refused');
    expect(await slowMetric('hikhub_ingest_bodies_in_flight')).toBe(ATTACK_ADDRESSES.length * PER_ADDRESS);

    // The bar: a device elsewhere gets 200 within 2 s while the attack holds its slots.
    for (let i = 0; i < 5; i++) {
      const response = await sendRaw(ingest.port, buildPost(`/device/${i}`, XML), { timeoutMs: 2_000 });
      expect(response?.status).toBe(200);
    }
    expect(await slowMetric('hikhub_ingest_bodies_in_flight')).toBe(ATTACK_ADDRESSES.length * PER_ADDRESS);

    // Below the minimum rate for a window: each slow body gets 408 and its connection is closed.
    await waitFor(async () => clients.every((client) => client.isClosed()), 15_000, 'every slow connection to be closed');
    const statuses = clients.map((client) => /^HTTP\/1\.1 (\d{3})/.exec(client.answer())?.[1]);
    expect(statuses.filter((status) => status === '408')).toHaveLength(ATTACK_ADDRESSES.length * PER_ADDRESS);
    expect(statuses.filter((status) => status === '503')).toHaveLength(ATTACK_ADDRESSES.length * (ATTACKERS_PER_ADDRESS - PER_ADDRESS));
    expect(await metric(ingest.metricsPort, /hikhub_ingest_rejections_total\{reason="too_slow",service="ingest"\} (\d+)/)).toBe(ATTACK_ADDRESSES.length * PER_ADDRESS);
    expect(await slowMetric('hikhub_ingest_bodies_in_flight')).toBe(0);
    expect(await slowMetric('hikhub_ingest_inflight_bytes')).toBe(0);

    // The attackers' addresses have their slots back.
    expect((await sendRaw(ingest.port, buildPost('/device/after', XML)))?.status).toBe(200);
  }, 40_000);

  it('answers 408 to a body that trickles below the minimum rate and closes its connection', async () => {
    const slow = slowBody(ingest.port, '127.0.0.4', 200);
    clients.push(slow);
    await slow.closed;
    expect(slow.answer()).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.answer().toLowerCase()).toContain('connection: close');
  }, 20_000);
});
