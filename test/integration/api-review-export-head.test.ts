import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { seedEvents } from '../helpers/events-seed.js';

/** One raw HTTP exchange: what the server sent until it closed the connection. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(text));
  });
}

/**
 * The CSV export announces an HTTP trailer, which only a chunked answer can carry: a HEAD request
 * or an HTTP/1.0 client (no chunked encoding) must still get a proper answer, not an exception
 * thrown out of the error handler.
 */
describe('admin API review: CSV export over HEAD and HTTP/1.0', () => {
  let t: TestApi;
  const auth = () => `Authorization: Bearer ${t.api.adminToken}\r\n`;

  beforeAll(async () => {
    t = await startTestApi('api-review-export-head');
    await seedEvents(t.db, { events: 50, days: 1 });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers HEAD with 200 and the CSV headers, and keeps serving', async () => {
    const answer = await exchange(t.api.port, `HEAD /api/v1/events/export.csv HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).toContain('content-type: text/csv; charset=utf-8');
    expect((await t.request('GET', '/api/v1/events?limit=1')).status).toBe(200);
  });

  it('sends an HTTP/1.0 client the whole CSV (without the trailer it cannot receive)', async () => {
    const answer = await exchange(t.api.port, `GET /api/v1/events/export.csv HTTP/1.0\r\nHost: x\r\n${auth()}\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    expect(body.split('\r\n').filter(Boolean)).toHaveLength(51);
    expect((await t.request('GET', '/api/v1/events?limit=1')).status).toBe(200);
  });
});
