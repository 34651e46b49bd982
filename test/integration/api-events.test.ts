import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventsWorld, type EventsWorld } from '../helpers/events-api.js';
import { openEventStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN_TOKEN = 'events-admin-token-0123456789abcdef';

interface Seeded {
  id: string;
  receivedAt: Date;
  deviceId: string;
  eventType: string;
  family: string;
  employeeNo: string | null;
  name: string | null;
  plate: string | null;
  pictures: number;
}

/**
 * GET /api/v1/events and friends over rows seeded in 2024 (exact expectations, ties on purpose)
 * and over events the real archiver writes now (pictures, live stream).
 */
describe('admin API: events', () => {
  let w: EventsWorld;
  const seeded: Seeded[] = [];
  const deviceIds: string[] = [];
  const RANGE = 'from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z';

  beforeAll(async () => {
    w = await startEventsWorld('api-events', { ADMIN_TOKEN });
    for (const [index, name] of ['Gate A', 'Gate B'].entries()) {
      const row = await w.db
        .insertInto('devices')
        .values({ device_key: `mac:aa:bb:cc:00:00:0${index}`, mac_address: `aa:bb:cc:00:00:0${index}`, ip_address: `10.9.0.${index + 1}`, device_name: name, model: 'DS-K1T671', serial_number: `SN${index}`, first_seen_at: new Date(), last_seen_at: new Date() })
        .returning('id')
        .executeTakeFirstOrThrow();
      deviceIds.push(row.id);
    }
    const names = ['Ada Lovelace', 'Alan Turing', '=HYPERLINK("http://x")', '100% Sure', null];
    const plates = ['ab123cd', 'XY999ZZ', null];
    for (let i = 0; i < 40; i++) {
      // Five events share each timestamp: pages must split ties without a gap or a repeat.
      const receivedAt = new Date(Date.UTC(2024, 5, 1, 8, 0, Math.floor(i / 5)));
      const access = i % 3 !== 2;
      const event: Seeded = {
        id: randomUUID(),
        receivedAt,
        deviceId: deviceIds[i % 2]!,
        eventType: access ? 'AccessControllerEvent' : 'ANPR',
        family: access ? 'access_control' : 'vehicle',
        employeeNo: access ? String(100 + (i % 4)) : null,
        name: access ? names[i % names.length]! : null,
        plate: access ? null : plates[i % plates.length]!,
        pictures: i % 4 === 0 ? 2 : 0,
      };
      seeded.push(event);
      await w.db
        .insertInto('events')
        .values({
          id: event.id, received_at: receivedAt, occurred_at: receivedAt, device_time: '2024-06-01T10:00:00+02:00', event_type: event.eventType,
          event_state: 'active', event_family: event.family, remote_address: '10.9.0.1', device_id: event.deviceId, source_path: '/event/notification',
          employee_no: event.employeeNo, person_name: event.name, license_plate: event.plate, verify_result: access ? 'face verified' : null,
          payload: JSON.stringify(access ? { eventType: event.eventType, AccessControllerEvent: { doorNo: 2, name: event.name } } : { eventType: 'ANPR' }),
        })
        .execute();
      for (let p = 0; p < event.pictures; p++) {
        await w.db.insertInto('event_pictures').values({ event_id: event.id, position: p, part_name: 'Picture', path: `pictures/2024/06/01/${event.id}-${p}.jpg`, bytes: 10, sha256: 'x'.repeat(64), content_type: 'image/jpeg' }).execute();
      }
    }
  });

  afterAll(async () => {
    await w?.close();
  });

  const newestFirst = (events: Seeded[]) =>
    [...events].sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).map((event) => event.id);

  async function allPages(query: string, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const response = await w.request('GET', `/api/v1/events?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.status).toBe(200);
      ids.push(...response.body.items.map((item: { id: string }) => item.id));
      cursor = response.body.nextCursor;
      if (!cursor) return ids;
    }
    throw new Error('too many pages');
  }

  it('pages newest first by (receivedAt, id): every event once across pages, ties included', async () => {
    const expected = newestFirst(seeded);
    for (const limit of [1, 7, 40, 500]) {
      const ids = await allPages(RANGE, limit);
      expect(ids).toEqual(expected);
    }
    const first = await w.request('GET', `/api/v1/events?${RANGE}`);
    expect(first.body.items).toHaveLength(40);
    expect(first.body.nextCursor).toBeNull();
  });

  it('filters by device, type, family, employee, name substring, plate and picture, each as documented', async () => {
    const cases: [string, (event: Seeded) => boolean][] = [
      [`deviceId=${deviceIds[1]}`, (e) => e.deviceId === deviceIds[1]],
      ['eventType=ANPR', (e) => e.eventType === 'ANPR'],
      ['family=access_control', (e) => e.family === 'access_control'],
      ['employeeNo=101', (e) => e.employeeNo === '101'],
      ['name=lOVEl', (e) => (e.name ?? '').toLowerCase().includes('lovel')],
      // % is a character to find, not a wildcard.
      [`name=${encodeURIComponent('0%')}`, (e) => (e.name ?? '').includes('0%')],
      ['name=a_', () => false],
      ['plate=AB123CD', (e) => e.plate === 'ab123cd'],
      ['hasPicture=true', (e) => e.pictures > 0],
      ['hasPicture=false', (e) => e.pictures === 0],
      [`deviceId=${deviceIds[0]}&family=access_control&hasPicture=true`, (e) => e.deviceId === deviceIds[0] && e.family === 'access_control' && e.pictures > 0],
    ];
    for (const [query, predicate] of cases) {
      const expected = newestFirst(seeded.filter(predicate));
      expect([query, await allPages(`${RANGE}&${query}`, 3)]).toEqual([query, expected]);
    }
    // from inclusive, to exclusive.
    const window = await allPages('from=2024-06-01T08:00:02Z&to=2024-06-01T08:00:04Z', 50);
    expect(window).toEqual(newestFirst(seeded.filter((e) => e.receivedAt >= new Date('2024-06-01T08:00:02Z') && e.receivedAt < new Date('2024-06-01T08:00:04Z'))));
    expect(window).toHaveLength(10);
  });

  it('answers bad parameters with 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['limit=0', 'limit'], ['limit=501', 'limit'], ['from=yesterday', 'from'], ['to=2024-06-01', 'to'], ['deviceId=abc', 'deviceId'],
      ['hasPicture=yes', 'hasPicture'], ['family=cars', 'family'], ['cursor=not-a-cursor', 'cursor'], ['colour=red', 'colour'],
      ['from=2024-06-02T00:00:00Z&to=2024-06-01T00:00:00Z', 'to'],
    ];
    for (const [query, parameter] of cases) {
      const response = await w.request('GET', `/api/v1/events?${query}`);
      expect([query, response.status]).toEqual([query, 400]);
      expect([query, response.body.message]).toEqual([query, expect.stringContaining(parameter)]);
    }
  });

  it('returns one event with its device, pictures, doorNo and the stored document; 404 otherwise', async () => {
    const event = seeded.find((e) => e.pictures > 0 && e.family === 'access_control')!;
    const response = await w.request('GET', `/api/v1/events/${event.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: event.id, receivedAt: event.receivedAt.toISOString(), deviceTime: '2024-06-01T10:00:00+02:00', eventType: 'AccessControllerEvent', eventFamily: 'access_control',
      device: { id: event.deviceId, name: event.deviceId === deviceIds[0] ? 'Gate A' : 'Gate B', model: 'DS-K1T671' }, doorNo: '2', employeeNo: event.employeeNo,
      payload: { eventType: 'AccessControllerEvent', AccessControllerEvent: { doorNo: 2 } },
    });
    expect(response.body.pictures.map((p: { url: string }) => p.url)).toEqual([0, 1].map((p) => `/faces/pictures/2024/06/01/${event.id}-${p}.jpg`));
    expect((await w.request('GET', `/api/v1/events/${randomUUID()}`)).status).toBe(404);
    expect((await w.request('GET', '/api/v1/events/not-an-id')).status).toBe(404);
  });

  it('lists observed devices and the distinct event types', async () => {
    const devices = await w.request('GET', '/api/v1/observed-devices');
    expect(devices.status).toBe(200);
    expect(devices.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ id: deviceIds[0], name: 'Gate A', ipAddress: '10.9.0.1', macAddress: 'aa:bb:cc:00:00:00', eventCount: 0 })]));
    const types = await w.request('GET', '/api/v1/event-types');
    expect(types.body.items).toEqual(expect.arrayContaining([{ eventType: 'ANPR', eventFamily: 'vehicle' }, { eventType: 'AccessControllerEvent', eventFamily: 'access_control' }]));
  });

  it('exports the filtered range as CSV: a header, one row per event, formula cells defused', async () => {
    const response = await w.request('GET', `/api/v1/events/export.csv?${RANGE}&family=access_control`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="hikhub-events-.*\.csv"$/);
    expect(response.headers.get('x-hikhub-export-max-rows')).toBe('1000000');
    const lines = response.text.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe('id,receivedAt,occurredAt,deviceTime,deviceName,deviceId,deviceIp,eventType,eventState,eventFamily,employeeNo,personName,cardNo,licensePlate,verifyResult,doorNo,pictures');
    const expected = newestFirst(seeded.filter((e) => e.family === 'access_control'));
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(expected);
    expect(response.text).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(response.text).not.toMatch(/,=HYPERLINK/);
    const withPictures = seeded.find((e) => e.pictures === 2 && e.family === 'access_control')!;
    expect(lines.find((line) => line.startsWith(withPictures.id))).toMatch(/,2,2$/);
    expect((await w.request('GET', '/api/v1/events/export.csv?limit=5')).status).toBe(400);
  });

  describe('archived by the real archiver', () => {
    it('serves pictures under /faces/ with type, caching, ETag/304 — and only stored paths, only with auth', async () => {
      await w.postAccessEvent({ picture: true });
      const event = await waitFor(async () => (await w.request('GET', '/api/v1/events?hasPicture=true&from=2025-01-01T00:00:00Z')).body.items[0], 15_000, 'archived event');
      const picture = event.pictures[0];
      expect(picture).toMatchObject({ contentType: 'image/jpeg', bytes: w.face.length, partName: 'Picture' });
      expect(picture.url).toMatch(/^\/faces\/pictures\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36}-\d\.jpg$/);

      const fetched = await w.request('GET', picture.url);
      expect(fetched.status).toBe(200);
      expect(fetched.headers.get('content-type')).toBe('image/jpeg');
      expect(fetched.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect(fetched.bytes.equals(w.face)).toBe(true);
      const etag = fetched.headers.get('etag')!;
      expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
      const again = await fetch(w.url(picture.url), { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'if-none-match': etag } });
      expect(again.status).toBe(304);

      expect((await w.request('GET', picture.url, { token: null })).status).toBe(401);
      for (const path of ['/faces/pictures/2024/06/01/nothing.jpg', '/faces/..%2F..%2Fsecrets%2Fadmin-token', '/faces/secrets/admin-token', '/faces/pictures/../secrets/admin-token', '/faces/']) {
        expect([path, (await w.request('GET', path)).status]).toEqual([path, 404]);
      }
      // The seeded rows name files that do not exist: a row is not enough, the file must be there.
      expect((await w.request('GET', `/faces/pictures/2024/06/01/${seeded[0]!.id}-0.jpg`)).status).toBe(404);
    });

    it('streams newly archived matching events over SSE, and replays after Last-Event-ID', async () => {
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const device0 = await waitFor(async () => (await w.request('GET', '/api/v1/observed-devices')).body.items.find((d: { macAddress: string }) => d.macAddress === w.devices[0]!.macAddress), 10_000, 'device 0');
      // An event archived just before the streams open may still be in flight to them: look only at new ones.
      const before = new Set((await w.request('GET', '/api/v1/events?from=2025-01-01T00:00:00Z&limit=500')).body.items.map((item: { id: string }) => item.id));
      const all = await openEventStream(w.url('/api/v1/events/stream'), auth);
      const onlyDevice0 = await openEventStream(w.url(`/api/v1/events/stream?deviceId=${device0.id}&family=access_control`), auth);
      try {
        expect(all.status).toBe(200);
        expect(all.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        await waitFor(async () => all.retry === 3000, 5_000, 'retry line');
        await waitFor(async () => Number(/hikhub_api_event_stream_clients(?:\{[^}]*\})? (\d+)/.exec(await w.metrics())?.[1]) === 2, 5_000, 'clients gauge');

        const fresh = () => all.events().filter((event) => !before.has(event.id));
        await w.postAccessEvent({ device: 1 });
        await waitFor(async () => fresh().length >= 1, 15_000, 'first streamed event');
        await w.postAccessEvent({ device: 0, picture: true });
        const received = await waitFor(async () => (fresh().length >= 2 ? fresh() : null), 15_000, 'two streamed events');
        expect(received.map((event) => event.device.macAddress)).toEqual([w.devices[1]!.macAddress, w.devices[0]!.macAddress]);
        expect(all.messages.every((message) => message.id === JSON.parse(message.data).id)).toBe(true);
        const withPicture = received.find((event) => event.pictures.length)!;
        expect((await w.request('GET', withPicture.pictures[0].url)).bytes.equals(w.face)).toBe(true);

        await waitFor(async () => onlyDevice0.events().some((event) => !before.has(event.id)), 10_000, 'filtered stream');
        expect(onlyDevice0.events().filter((event) => !before.has(event.id)).map((event) => event.device.id)).toEqual([device0.id]);
        expect(onlyDevice0.events().every((event) => event.device.id === device0.id)).toBe(true);

        // A client that saw the first event reconnects: it gets what came after, then live ones.
        const resumed = await openEventStream(w.url('/api/v1/events/stream'), { ...auth, 'last-event-id': received[0]!.id });
        try {
          await waitFor(async () => resumed.events().length >= 1, 10_000, 'replay');
          expect(resumed.events().map((event) => event.id)).toEqual([received[1]!.id]);
          await w.postAccessEvent({ device: 1 });
          await waitFor(async () => resumed.events().length >= 2, 15_000, 'live after replay');
          expect(new Set(resumed.events().map((event) => event.id)).size).toBe(resumed.events().length);
        } finally {
          await resumed.close();
        }
      } finally {
        await all.close();
        await onlyDevice0.close();
      }
      await waitFor(async () => Number(/hikhub_api_event_stream_clients(?:\{[^}]*\})? (\d+)/.exec(await w.metrics())?.[1]) === 0, 5_000, 'clients gauge back to 0');
    });

    it('lets the console session open the stream and read pictures (EventSource cannot send headers)', async () => {
      const signIn = await fetch(w.url('/api/v1/session'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: ADMIN_TOKEN }) });
      const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
      const stream = await openEventStream(w.url('/api/v1/events/stream'), { cookie });
      try {
        expect(stream.status).toBe(200);
        expect((await openEventStream(w.url('/api/v1/events/stream'))).status).toBe(401);
      } finally {
        await stream.close();
      }
      const event = (await w.request('GET', '/api/v1/events?hasPicture=true&from=2025-01-01T00:00:00Z')).body.items[0];
      expect((await fetch(w.url(event.pictures[0].url), { headers: { cookie } })).status).toBe(200);
    });
  });
});
