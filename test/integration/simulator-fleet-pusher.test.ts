import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequest } from '../../libs/hikvision/parse-request.js';
import { pushEvents, type EventAnswer } from '../../tools/simulator/event-pusher.js';
import { DEFAULT_FLEET_MIX } from '../../tools/simulator/fleet.js';

/**
 * The pusher in fleet mode (what the soak bench drives) against a receiver that parses every body
 * with hikhub's parser and answers an `x-event-id`, as the ingest does.
 */

interface Received {
  contentType: string;
  family: string;
  isHeartbeat: boolean;
  macAddress: string | null;
  pictures: number;
  serialNo: string | null;
}

let server: http.Server;
let url: string;
const received: Received[] = [];
let nextId = 0;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const contentType = request.headers['content-type'] ?? '';
      parseRequest({ contentType, body: Buffer.concat(chunks) })
        .then(({ event, pictures }) => {
          received.push({ contentType, family: event.family, isHeartbeat: event.isHeartbeat, macAddress: event.macAddress, pictures: pictures.length, serialNo: event.serialNo });
          response.writeHead(200, { 'x-event-id': `id-${++nextId}` }).end('OK\n');
        })
        .catch(() => response.writeHead(400).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hikvision/events`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('event pusher, fleet mode', () => {
  it('posts each kind with its own content type, reports every event answer with its x-event-id, and continues serials', async () => {
    const answers: EventAnswer[] = [];
    const result = await pushEvents({
      url,
      devices: 10,
      ratePerSecond: 500,
      count: 40,
      heartbeatEveryMs: 200,
      fleet: DEFAULT_FLEET_MIX,
      pictureEvery: 1,
      idPrefix: 'f1ee',
      serialNoAfter: 1000,
      onEventAnswered: (answer) => answers.push(answer),
    });

    expect(result).toMatchObject({ events: 40, accepted: result.sent, networkErrors: 0, eventsByKind: { 'face-terminal': 16, camera: 16, nvr: 8 }, pictures: 16 });
    // Heartbeats are answered too, but only events are reported.
    expect(answers).toHaveLength(40);
    expect(answers.every((answer) => answer.status === 200 && /^id-\d+$/.test(answer.eventId ?? ''))).toBe(true);
    expect(answers.filter((answer) => answer.kind === 'nvr')).toHaveLength(8);

    const events = received.filter((r) => !r.isHeartbeat);
    expect(events).toHaveLength(40);
    expect(received.length).toBe(result.sent);
    const faces = events.filter((r) => r.family === 'access_control');
    expect(faces).toHaveLength(16);
    expect(faces.every((r) => r.contentType.startsWith('multipart/form-data') && r.pictures === 1 && Number(r.serialNo) > 1000)).toBe(true);
    const alerts = events.filter((r) => r.family !== 'access_control');
    expect(alerts.every((r) => r.contentType.startsWith('application/xml') && r.pictures === 0)).toBe(true);
    expect(new Set(events.map((r) => r.macAddress)).size).toBe(10);
  });
});
