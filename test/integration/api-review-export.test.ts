import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEventsCsv, type CsvExportOutcome } from '../../services/api/routes/event-export.js';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { seedEvents } from '../helpers/events-seed.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A CSV export whose client stops reading and then disconnects must end: the export function
 * resolves (so its batch of rows is released and no further query runs), instead of waiting
 * forever for a 'drain' that a destroyed socket never emits.
 */
describe('admin API review: CSV export when the client leaves mid-export', () => {
  let t: TestApi;
  let server: http.Server;
  let port: number;
  const exports: { res: express.Response; outcome: CsvExportOutcome | undefined; settled: boolean }[] = [];

  beforeAll(async () => {
    t = await startTestApi('api-review-export');
    // Enough rows that the socket buffers fill up long before the export is done (~250 bytes a row).
    await seedEvents(t.db, { events: 60_000, days: 2 });
    const app = express();
    app.get('/export.csv', (_req, res) => {
      const entry: (typeof exports)[number] = { res, outcome: undefined, settled: false };
      exports.push(entry);
      writeEventsCsv(res, t.db, {}).then(
        (outcome) => Object.assign(entry, { outcome, settled: true }),
        () => Object.assign(entry, { settled: true }),
      );
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
  });

  it('settles as not completed once the client that stopped reading disconnects', async () => {
    const request = http.get({ host: '127.0.0.1', port, path: '/export.csv', agent: false });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', reject);
    });
    expect(response.statusCode).toBe(200);
    response.pause();
    const entry = exports.at(-1)!;
    // The export is now blocked on the full socket (back-pressure works) …
    await waitFor(async () => entry.res.writableNeedDrain, 30_000, 'the export to wait for the slow client');
    expect(entry.settled).toBe(false);
    // … and the client leaves.
    request.destroy();
    await waitFor(async () => entry.settled, 30_000, 'the export to notice the client left');
    expect(entry.outcome?.completed).toBe(false);
    expect(entry.outcome!.rows).toBeLessThan(60_000);
  });

  it('still sends every row to a client that reads to the end', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/export.csv`);
    const text = await response.text();
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(60_001);
    const entry = exports.at(-1)!;
    await waitFor(async () => entry.settled, 30_000, 'the export to settle');
    expect(entry.outcome).toEqual({ rows: 60_000, truncated: false, completed: true });
  });

  it('answers HEAD with the headers only, without running the export', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/export.csv`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const entry = exports.at(-1)!;
    await waitFor(async () => entry.settled, 30_000, 'the export to settle');
    expect(entry.outcome).toEqual({ rows: 0, truncated: false, completed: true });
  });
});
