import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatDigestChallenge } from '../../libs/digest/digest.js';
import { splitMultipart } from '../../libs/hikvision/multipart.js';
import { loadAsset } from '../../tools/simulator/assets.js';
import { DigestGuard } from '../../tools/simulator/digest-guard.js';
import { carriesPicture, pushEvents } from '../../tools/simulator/event-pusher.js';

/** The event pusher against a tiny local receiver that splits every body and counts its parts. */

interface Received {
  path: string;
  contentType: string;
  eventParts: Record<string, unknown>[];
  pictures: Buffer[];
  partNames: string[];
}

interface Receiver {
  url: string;
  received: Received[];
  challenges: number;
  close(): Promise<void>;
}

async function startReceiver(options: { digest?: { username: string; password: string } } = {}): Promise<Receiver> {
  const received: Received[] = [];
  const guard = options.digest ? new DigestGuard({ ...options.digest, realm: 'hikhub test', nonceLifetimeMs: 60_000, lockoutThreshold: 100, lockoutMs: 60_000 }) : null;
  let challenges = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const verdict = guard?.check(request.method ?? 'POST', request.url ?? '/', request.headers.authorization, request.socket.remoteAddress ?? '') ?? { kind: 'ok' };
        if (verdict.kind !== 'ok') {
          challenges += 1;
          response.writeHead(401, { 'WWW-Authenticate': formatDigestChallenge({ realm: 'hikhub test', nonce: guard!.issueNonce(), qop: 'auth', stale: false }) }).end();
          return;
        }
        const contentType = request.headers['content-type'] ?? '';
        const parts = await splitMultipart(contentType, Buffer.concat(chunks));
        received.push({
          path: request.url ?? '',
          contentType,
          partNames: parts.map((part) => part.name ?? ''),
          eventParts: parts.filter((part) => part.name === 'AccessControllerEvent').map((part) => JSON.parse(part.bytes.toString('utf8')) as Record<string, unknown>),
          pictures: parts.filter((part) => part.declaredType === 'image/jpeg').map((part) => part.bytes),
        });
        response.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK');
      })().catch(() => response.writeHead(400).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hikvision/events`,
    received,
    get challenges() {
      return challenges;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});
async function receiver(options: Parameters<typeof startReceiver>[0] = {}): Promise<Receiver> {
  const started = await startReceiver(options);
  receivers.push(started);
  return started;
}

const accessEvent = (document: Record<string, unknown>) => document.AccessControllerEvent as Record<string, unknown>;

describe('event pusher', () => {
  it('posts multipart access events from distinct devices with increasing serialNo and pictures', async () => {
    const target = await receiver();
    const result = await pushEvents({ url: target.url, devices: 3, ratePerSecond: 1000, count: 12, pictureEvery: 3, pathForDevice: (index) => `/device-${index}` });
    expect(result).toMatchObject({ sent: 12, accepted: 12, statusCounts: { 200: 12 }, networkErrors: 0, events: 12, heartbeats: 0, pictures: 4 });
    expect(target.received).toHaveLength(12);
    expect(new Set(target.received.map((request) => request.path))).toEqual(new Set(['/hikvision/events/device-0', '/hikvision/events/device-1', '/hikvision/events/device-2']));
    expect(target.received.every((request) => request.contentType === 'multipart/form-data; boundary=MIME_boundary')).toBe(true);

    const documents = target.received.flatMap((request) => request.eventParts);
    expect(documents).toHaveLength(12);
    for (const document of documents) {
      expect(document).toMatchObject({ eventType: 'AccessControllerEvent', eventState: 'active', eventDescription: 'Access Controller Event', protocol: 'HTTP' });
      expect(document.dateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
      expect(accessEvent(document)).toMatchObject({ majorEventType: 5, subEventType: 75, currentEvent: true });
    }
    const byMac = new Map<string, number[]>();
    for (const document of documents) byMac.set(String(document.macAddress), [...(byMac.get(String(document.macAddress)) ?? []), Number(accessEvent(document).serialNo)]);
    expect(byMac.size).toBe(3);
    for (const serials of byMac.values()) expect(serials).toEqual([1, 2, 3, 4]);

    const withPicture = target.received.filter((request) => request.pictures.length > 0);
    expect(withPicture).toHaveLength(4);
    for (const request of withPicture) {
      expect(request.partNames).toEqual(['AccessControllerEvent', 'Picture']);
      expect(request.pictures[0]!.equals(loadAsset('capture.jpg'))).toBe(true);
      expect(accessEvent(request.eventParts[0]!).picturesNumber).toBe(1);
    }
  });

  it('interleaves heartbeats on their own schedule', async () => {
    const target = await receiver();
    // Events are due at 0, 100 and 200 ms; heartbeats every 20 ms before the last event: 9 of them.
    const result = await pushEvents({ url: target.url, devices: 1, ratePerSecond: 10, count: 3, heartbeatEveryMs: 20 });
    expect(result).toMatchObject({ events: 3, heartbeats: 9, sent: 12, accepted: 12 });
    const types = target.received.flatMap((request) => request.eventParts.map((document) => document.eventType));
    expect(types.filter((type) => type === 'heartBeat')).toHaveLength(9);
    expect(types.filter((type) => type === 'AccessControllerEvent')).toHaveLength(3);
  });

  it('answers Digest challenges once per device and reuses them with nc + 1', async () => {
    const credentials = { username: 'device', password: 'push-secret' };
    const target = await receiver({ digest: credentials });
    const result = await pushEvents({ url: target.url, devices: 2, ratePerSecond: 1000, count: 10, digest: credentials });
    expect(result).toMatchObject({ sent: 10, accepted: 10, statusCounts: { 200: 10 }, digestChallenges: 2 });
    expect(target.challenges).toBe(2);
    expect(target.received).toHaveLength(10);
  });

  it('reports 401 without credentials, network errors when nobody listens, and stops on abort', async () => {
    const target = await receiver({ digest: { username: 'device', password: 'push-secret' } });
    expect(await pushEvents({ url: target.url, devices: 1, ratePerSecond: 1000, count: 2 })).toMatchObject({ sent: 2, accepted: 0, statusCounts: { 401: 2 } });

    const closed = await startReceiver();
    await closed.close();
    expect(await pushEvents({ url: closed.url, devices: 1, ratePerSecond: 1000, count: 2 })).toMatchObject({ sent: 2, networkErrors: 2 });

    const open = await receiver();
    const controller = new AbortController();
    controller.abort();
    expect(await pushEvents({ url: open.url, devices: 1, ratePerSecond: 1, durationMs: 60_000, signal: controller.signal })).toMatchObject({ sent: 0 });
  });

  it('spreads pictures as a fraction or every Nth event', () => {
    const pick = (every: number) => Array.from({ length: 10 }, (_, k) => carriesPicture(k, every)).filter(Boolean).length;
    expect(pick(0.5)).toBe(5);
    expect(pick(1)).toBe(10);
    expect(pick(4)).toBe(2);
    expect(pick(0)).toBe(0);
  });
});
