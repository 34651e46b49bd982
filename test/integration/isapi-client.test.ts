import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { digestHa1, formatDigestChallenge, parseDigestAuthorization, verifyDigestResponse } from '../../libs/digest/digest.js';
import { parseXmlDocument } from '../../libs/hikvision/xml-document.js';
import {
  configureEventPush,
  deleteCard,
  deleteFace,
  deleteUser,
  findUser,
  IsapiClient,
  IsapiError,
  readDeviceInfo,
  readHttpHosts,
  searchUsers,
  upsertCard,
  upsertFace,
  upsertUser,
  type IsapiClientOptions,
  type IsapiRequestSample,
} from '../../libs/isapi/index.js';

/**
 * A Hikvision device as far as these tests need one: Digest with expiring and forgettable
 * nonces, a lock body, and per-route handlers. It records every request it saw.
 */

const REALM = 'IP Camera(SIM01)';
const USERNAME = 'admin';
const PASSWORD = 'Passw0rd!';

type AuthOutcome = 'none' | 'basic' | 'ok' | 'bad' | 'stale' | 'unknown_nonce';

interface SeenRequest {
  method: string;
  url: string;
  auth: AuthOutcome;
  nonce?: string;
  nc?: string;
  contentType?: string;
  body: Buffer;
}

interface Reply {
  status?: number;
  body?: string;
  contentType?: string;
}

type Handler = (request: SeenRequest) => Reply | 'hold' | Promise<Reply | 'hold'>;

class FakeDevice {
  readonly seen: SeenRequest[] = [];
  readonly routes = new Map<string, Handler>();
  /** Body sent with every 401 (e.g. a lock document). */
  unauthorizedBody = '';
  /** When true, every request is refused as locked, even without credentials. */
  lockedOut = false;
  private readonly validNonces = new Set<string>();
  private readonly expiredNonces = new Set<string>();
  private readonly held: http.ServerResponse[] = [];
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  route(method: string, path: string, handler: Handler): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** The nonce now answers stale="true" (correct responses) — as devices do when a nonce times out. */
  expireNonces(): void {
    for (const nonce of this.validNonces) this.expiredNonces.add(nonce);
    this.validNonces.clear();
  }

  /** Forget every nonce, as after a reboot: old ones get a plain 401 with a new challenge. */
  forgetNonces(): void {
    this.validNonces.clear();
    this.expiredNonces.clear();
  }

  count(auth: AuthOutcome): number {
    return this.seen.filter((request) => request.auth === auth).length;
  }

  requestsTo(pathPrefix: string): SeenRequest[] {
    return this.seen.filter((request) => request.url.startsWith(pathPrefix));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', auth: 'none', body: Buffer.concat(chunks) };
    if (req.headers['content-type']) seen.contentType = req.headers['content-type'];
    this.seen.push(seen);

    const header = req.headers.authorization;
    if (this.lockedOut) return this.unauthorized(res, false, seen, header ? 'bad' : 'none');
    if (header === undefined) return this.unauthorized(res, false, seen, 'none');
    if (/^\s*Basic/i.test(header)) return this.unauthorized(res, false, seen, 'basic');
    const auth = parseDigestAuthorization(header);
    if (auth === null) return this.unauthorized(res, false, seen, 'bad');
    seen.nonce = auth.nonce;
    if (auth.nc !== undefined) seen.nc = auth.nc;
    const correct = auth.uri === req.url && auth.username === USERNAME && verifyDigestResponse(auth, req.method ?? '', digestHa1(USERNAME, REALM, PASSWORD));
    if (this.expiredNonces.has(auth.nonce)) return this.unauthorized(res, correct, seen, correct ? 'stale' : 'bad');
    if (!this.validNonces.has(auth.nonce)) return this.unauthorized(res, false, seen, 'unknown_nonce');
    if (!correct) return this.unauthorized(res, false, seen, 'bad');
    seen.auth = 'ok';

    const handler = this.routes.get(`${req.method} ${(req.url ?? '').split('?')[0]}`);
    const reply = handler ? await handler(seen) : { status: 404, body: '' };
    if (reply === 'hold') {
      this.held.push(res);
      return;
    }
    res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json' });
    res.end(reply.body ?? '');
  }

  private unauthorized(res: http.ServerResponse, stale: boolean, seen: SeenRequest, outcome: AuthOutcome): void {
    seen.auth = outcome;
    const nonce = randomBytes(12).toString('base64');
    this.validNonces.add(nonce);
    res.writeHead(401, {
      'www-authenticate': formatDigestChallenge({ realm: REALM, nonce, qop: 'auth', stale }, { staleCase: 'upper' }),
      'content-type': 'application/xml',
    });
    res.end(this.unauthorizedBody);
  }
}

const ok = (extra: Record<string, unknown> = {}): Reply => ({ body: JSON.stringify({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok', ...extra }) });
const failure = (status: number, statusCode: number, subStatusCode: string, errorMsg?: string): Reply => ({
  status,
  body: JSON.stringify({ statusCode, statusString: statusCode === 4 ? 'Invalid Operation' : 'Invalid Content', subStatusCode, ...(errorMsg ? { errorMsg } : {}) }),
});
const bodyJson = (request: SeenRequest): Record<string, unknown> => JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;

const DEVICE_INFO_XML = (namespace: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<DeviceInfo version="2.0" xmlns="${namespace}">` +
  '<deviceName>Lobby</deviceName><deviceID>x</deviceID><model>DS-K1T341CMFW</model>' +
  '<serialNumber>DS-K1T341CMFW20230901V030315ENAB1234567</serialNumber><macAddress>bc:ba:c2:00:11:22</macAddress>' +
  '<firmwareVersion>V3.3.15</firmwareVersion><deviceType>ACS</deviceType></DeviceInfo>';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(options: IsapiClientOptions & { password?: string } = {}): Promise<{ device: FakeDevice; client: IsapiClient }> {
  const device = new FakeDevice();
  const port = await device.start();
  const client = new IsapiClient({ host: '127.0.0.1', port, scheme: 'http', username: USERNAME, password: options.password ?? PASSWORD }, options);
  cleanups.push(async () => {
    await client.close();
    await device.stop();
    // Never Basic, in any test.
    expect(device.count('basic')).toBe(0);
  });
  device.route('GET', '/ISAPI/System/deviceInfo', () => ({ body: DEVICE_INFO_XML('http://www.isapi.org/ver20/XMLSchema'), contentType: 'application/xml' }));
  return { device, client };
}

const rejection = async (promise: Promise<unknown>): Promise<IsapiError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IsapiError);
  return error as IsapiError;
};

describe('IsapiClient Digest', () => {
  it('probes without credentials once, then reuses the challenge with nc 1, 2, 3 on one nonce', async () => {
    const { device, client } = await setup();
    for (let i = 0; i < 3; i++) await readDeviceInfo(client);
    expect(device.seen.map((r) => r.auth)).toEqual(['none', 'ok', 'ok', 'ok']);
    const authenticated = device.seen.filter((r) => r.auth === 'ok');
    expect(authenticated.map((r) => r.nc)).toEqual(['00000001', '00000002', '00000003']);
    expect(new Set(authenticated.map((r) => r.nonce)).size).toBe(1);
  });

  it('renews a stale nonce without a failed login', async () => {
    const { device, client } = await setup();
    await readDeviceInfo(client);
    device.expireNonces();
    await readDeviceInfo(client);
    expect(device.seen.map((r) => r.auth)).toEqual(['none', 'ok', 'stale', 'ok']);
    expect(device.seen[3]?.nc).toBe('00000001');
    expect(device.count('bad')).toBe(0);
  });

  it('takes a new challenge when a reused one is no longer known (device rebooted)', async () => {
    const { device, client } = await setup();
    await readDeviceInfo(client);
    device.forgetNonces();
    await readDeviceInfo(client);
    expect(device.seen.map((r) => r.auth)).toEqual(['none', 'ok', 'unknown_nonce', 'ok']);
  });

  it('makes exactly one credentialed attempt with a wrong password, per call', async () => {
    const { device, client } = await setup({ password: 'wrong' });
    const error = await rejection(readDeviceInfo(client));
    expect(error).toMatchObject({ errorClass: 'auth', httpStatus: 401, outcomeUnknown: false });
    expect(device.seen.map((r) => r.auth)).toEqual(['none', 'bad']);
    // The failed challenge is not reused: the next call starts over and again costs one bad response.
    await rejection(readDeviceInfo(client));
    expect(device.seen.map((r) => r.auth)).toEqual(['none', 'bad', 'none', 'bad']);
    expect(error.message).not.toContain('wrong');
  });

  it('reports the lock from a userCheck body and stops', async () => {
    const { device, client } = await setup({ password: 'wrong' });
    device.unauthorizedBody =
      '<?xml version="1.0" encoding="UTF-8"?><userCheck version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
      '<statusValue>401</statusValue><statusString>Unauthorized</statusString><lockStatus>unlock</lockStatus><unlockTime>0</unlockTime><retryLoginTime>4</retryLoginTime></userCheck>';
    const error = await rejection(readDeviceInfo(client));
    expect(error.lock).toEqual({ locked: false, unlockInSeconds: 0, retriesLeft: 4 });
    expect(device.count('bad')).toBe(1);

    device.lockedOut = true;
    device.unauthorizedBody = '<userCheck><statusValue>401</statusValue><lockStatus>lock</lockStatus><unlockTime>600</unlockTime><retryLoginTime>0</retryLoginTime></userCheck>';
    const locked = await rejection(readDeviceInfo(client));
    expect(locked).toMatchObject({ errorClass: 'auth', lock: { locked: true, unlockInSeconds: 600, retriesLeft: 0 } });
    expect(locked.message).toContain('unlock in 600s');
    // Locked: not even a correct response is sent after the unauthenticated probe.
    expect(device.seen.slice(2).map((r) => r.auth)).toEqual(['none']);
  });

  it('stops at a lock in the ResponseStatus variant', async () => {
    const { device, client } = await setup();
    device.lockedOut = true;
    device.unauthorizedBody = '<ResponseStatus><statusCode>4</statusCode><subStatusCode>userLocked</subStatusCode><lockStatus>lock</lockStatus><retryTimes>0</retryTimes><resLockTime>1800</resLockTime></ResponseStatus>';
    const error = await rejection(readDeviceInfo(client));
    expect(error.lock).toEqual({ locked: true, unlockInSeconds: 1800, retriesLeft: 0 });
    expect(device.seen).toHaveLength(1);
  });
});

describe('IsapiClient responses', () => {
  it('treats HTTP 200 with an error ResponseStatus as an error', async () => {
    const { device, client } = await setup();
    device.route('PUT', '/ISAPI/AccessControl/UserInfo/Modify', () => ({ status: 200, body: failure(400, 6, 'badJsonContent', 'beginTime and endTime').body! }));
    const error = await rejection(client.request({ operation: 'user.modify', method: 'PUT', path: '/ISAPI/AccessControl/UserInfo/Modify?format=json', json: {} }));
    expect(error).toMatchObject({ errorClass: 'permanent', permanentKind: 'bad_data', httpStatus: 200, statusCode: 6, subStatusCode: 'badJsonContent', errorMsg: 'beginTime and endTime' });
  });

  it('parses XML labelled as JSON, in either namespace', async () => {
    const { device, client } = await setup();
    for (const namespace of ['http://www.isapi.org/ver20/XMLSchema', 'http://www.hikvision.com/ver20/XMLSchema']) {
      device.route('GET', '/ISAPI/System/deviceInfo', () => ({ body: DEVICE_INFO_XML(namespace), contentType: 'application/json' }));
      expect(await readDeviceInfo(client)).toEqual({
        serialNumber: 'DS-K1T341CMFW20230901V030315ENAB1234567',
        model: 'DS-K1T341CMFW',
        firmwareVersion: 'V3.3.15',
        macAddress: 'bc:ba:c2:00:11:22',
        deviceName: 'Lobby',
        deviceType: 'ACS',
      });
    }
  });

  it('flags statusCode 7 as reboot required, and classifies bodiless 503 and 404', async () => {
    const { device, client } = await setup();
    device.route('PUT', '/reboot-needed', () => ({ body: '<ResponseStatus><statusCode>7</statusCode><statusString>Reboot Required</statusString><subStatusCode>rebootRequired</subStatusCode></ResponseStatus>' }));
    device.route('GET', '/busy', () => ({ status: 503, body: '' }));
    const result = await client.request({ operation: 'test', method: 'PUT', path: '/reboot-needed', xml: '<x/>' });
    expect(result.rebootRequired).toBe(true);
    expect(result.responseStatus?.subStatusCode).toBe('rebootRequired');
    expect((await rejection(client.request({ operation: 'test', method: 'GET', path: '/busy' }))).errorClass).toBe('retry');
    expect((await rejection(client.request({ operation: 'test', method: 'GET', path: '/missing' }))).errorClass).toBe('unsupported');
  });

  it('turns a timeout after sending into limited_retry with an unknown outcome', async () => {
    const { device, client } = await setup({ requestTimeoutMs: 300 });
    device.route('POST', '/ISAPI/AccessControl/UserInfo/Record', () => 'hold');
    const error = await rejection(upsertUser(client, { employeeNo: '1', name: 'A' }));
    expect(error).toMatchObject({ errorClass: 'limited_retry', outcomeUnknown: true, transport: 'timeout' });
    expect(device.requestsTo('/ISAPI/AccessControl/UserInfo/Record').some((r) => r.auth === 'ok')).toBe(true);
  });

  it('turns a refused connection into retry with nothing sent', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const client = new IsapiClient({ host: '127.0.0.1', port, scheme: 'http', username: USERNAME, password: PASSWORD });
    cleanups.push(() => client.close());
    const error = await rejection(readDeviceInfo(client));
    expect(error).toMatchObject({ errorClass: 'retry', outcomeUnknown: false, transport: 'connect_failed' });
  });

  it('reports one sample per call with operation and outcome', async () => {
    const samples: IsapiRequestSample[] = [];
    const { device, client } = await setup({ onRequestComplete: (sample) => samples.push(sample) });
    device.route('PUT', '/ISAPI/AccessControl/UserInfo/Delete', () => failure(403, 4, 'lowPrivilege'));
    await readDeviceInfo(client);
    await rejection(deleteUser(client, '5'));
    expect(samples.map(({ operation, outcome }) => ({ operation, outcome }))).toEqual([
      { operation: 'device.info', outcome: 'ok' },
      { operation: 'user.delete', outcome: 'operator' },
    ]);
    expect(samples.every((s) => s.durationSeconds >= 0)).toBe(true);
  });
});

describe('users', () => {
  it('falls back from Record to Modify when the person exists', async () => {
    const { device, client } = await setup();
    device.route('POST', '/ISAPI/AccessControl/UserInfo/Record', () => failure(400, 6, 'employeeNoAlreadyExist', 'checkUser'));
    device.route('PUT', '/ISAPI/AccessControl/UserInfo/Modify', () => ok());
    const validFrom = new Date('2025-01-01T08:00:00Z');
    expect(await upsertUser(client, { employeeNo: '10023', name: 'Jane', validFrom, validTo: new Date('2099-01-01T00:00:00Z') }, { timeZone: 'Europe/Berlin' })).toEqual({ via: 'modify' });
    const modify = bodyJson(device.requestsTo('/ISAPI/AccessControl/UserInfo/Modify')[0]!);
    expect(modify).toEqual({
      UserInfo: {
        employeeNo: '10023',
        name: 'Jane',
        userType: 'normal',
        Valid: { enable: true, beginTime: '2025-01-01T09:00:00', endTime: '2037-12-31T23:59:59', timeType: 'local' },
        doorRight: '1',
        RightPlan: [{ doorNo: 1, planTemplateNo: '1' }],
      },
    });
  });

  it('sends enable:false with the safe range when no validity is given', async () => {
    const { device, client } = await setup();
    device.route('POST', '/ISAPI/AccessControl/UserInfo/Record', () => ok());
    expect(await upsertUser(client, { employeeNo: '7', name: 'B' })).toEqual({ via: 'record' });
    const valid = (bodyJson(device.requestsTo('/ISAPI/AccessControl/UserInfo/Record')[0]!)['UserInfo'] as Record<string, unknown>)['Valid'];
    expect(valid).toEqual({ enable: false, beginTime: '2000-01-01T00:00:00', endTime: '2037-12-31T23:59:59', timeType: 'local' });
  });

  it('uses SetUp when Record is unsupported, and Records again when Modify finds nobody', async () => {
    const { device, client } = await setup();
    device.route('POST', '/ISAPI/AccessControl/UserInfo/Record', () => failure(403, 4, 'notSupport'));
    device.route('PUT', '/ISAPI/AccessControl/UserInfo/SetUp', () => ok());
    expect(await upsertUser(client, { employeeNo: '7', name: 'B' })).toEqual({ via: 'setup' });

    let records = 0;
    device.route('POST', '/ISAPI/AccessControl/UserInfo/Record', () => (++records === 1 ? failure(400, 6, 'employeeNoAlreadyExist') : ok()));
    device.route('PUT', '/ISAPI/AccessControl/UserInfo/Modify', () => failure(400, 6, 'employeeNoNotExist'));
    expect(await upsertUser(client, { employeeNo: '8', name: 'C' })).toEqual({ via: 'record' });
    expect(records).toBe(2);
  });

  it('deletes through UserInfoDetail byEmployeeNo and polls DeleteProcess when UserInfo/Delete is unsupported', async () => {
    const { device, client } = await setup();
    device.route('PUT', '/ISAPI/AccessControl/UserInfo/Delete', () => failure(405, 4, 'methodNotAllowed'));
    device.route('PUT', '/ISAPI/AccessControl/UserInfoDetail/Delete', () => ok());
    let polls = 0;
    device.route('GET', '/ISAPI/AccessControl/UserInfoDetail/DeleteProcess', () => ({
      body: JSON.stringify({ UserInfoDetailDeleteProcess: { status: ++polls < 3 ? 'processing' : 'success' } }),
    }));
    expect(await deleteUser(client, '10023', { pollIntervalMs: 10 })).toEqual({ via: 'detail', existed: true });
    expect(bodyJson(device.requestsTo('/ISAPI/AccessControl/UserInfoDetail/Delete')[0]!)).toEqual({
      UserInfoDetail: { mode: 'byEmployeeNo', EmployeeNoList: [{ employeeNo: '10023' }] },
    });
    expect(polls).toBe(3);
  });

  it('treats deleting a missing person as done and refuses an empty employeeNo', async () => {
    const { device, client } = await setup();
    device.route('PUT', '/ISAPI/AccessControl/UserInfo/Delete', () => failure(400, 6, 'deviceUserNotExist'));
    expect(await deleteUser(client, '404')).toEqual({ via: 'delete', existed: false });
    const before = device.seen.length;
    expect((await rejection(deleteUser(client, ' '))).errorClass).toBe('permanent');
    expect(device.seen).toHaveLength(before);
  });

  it('pages a search over three pages with one searchID', async () => {
    const { device, client } = await setup();
    const people = Array.from({ length: 7 }, (_, i) => ({ employeeNo: String(100 + i), name: `P${i}`, userType: 'normal', numOfCard: i % 2, numOfFace: 1, Valid: { beginTime: '2000-01-01T00:00:00', endTime: '2037-12-31T23:59:59' } }));
    device.route('POST', '/ISAPI/AccessControl/UserInfo/Search', (request) => {
      const cond = bodyJson(request)['UserInfoSearchCond'] as { searchID: string; searchResultPosition: number; maxResults: number };
      const page = people.slice(cond.searchResultPosition, cond.searchResultPosition + cond.maxResults);
      const more = cond.searchResultPosition + page.length < people.length;
      return { body: JSON.stringify({ UserInfoSearch: { searchID: cond.searchID, responseStatusStrg: more ? 'MORE' : 'OK', numOfMatches: page.length, totalMatches: people.length, UserInfo: page } }) };
    });
    const found = [];
    for await (const user of searchUsers(client, { pageSize: 3 })) found.push(user);
    expect(found.map((u) => u.employeeNo)).toEqual(people.map((p) => p.employeeNo));
    expect(found[1]).toEqual({ employeeNo: '101', name: 'P1', userType: 'normal', numOfCard: 1, numOfFace: 1, validFrom: '2000-01-01T00:00:00', validTo: '2037-12-31T23:59:59' });
    const conds = device.requestsTo('/ISAPI/AccessControl/UserInfo/Search').filter((r) => r.auth === 'ok').map((r) => bodyJson(r)['UserInfoSearchCond'] as Record<string, unknown>);
    expect(conds.map((c) => c['searchResultPosition'])).toEqual([0, 3, 6]);
    expect(new Set(conds.map((c) => c['searchID'])).size).toBe(1);
  });

  it('filters rows when the device ignores EmployeeNoList, and finds nobody on NO MATCH', async () => {
    const { device, client } = await setup();
    let answer = { responseStatusStrg: 'OK', numOfMatches: 2, UserInfo: [{ employeeNo: '1', name: 'X' }, { employeeNo: '2', name: 'Y' }] } as Record<string, unknown>;
    device.route('POST', '/ISAPI/AccessControl/UserInfo/Search', () => ({ body: JSON.stringify({ UserInfoSearch: answer }) }));
    expect((await findUser(client, '2'))?.name).toBe('Y');
    answer = { responseStatusStrg: 'NO MATCH', numOfMatches: 0 };
    expect(await findUser(client, '2')).toBeNull();
  });

  it('stops with an error when a page says MORE but returns nothing', async () => {
    const { device, client } = await setup();
    device.route('POST', '/ISAPI/AccessControl/UserInfo/Search', () => ({ body: JSON.stringify({ UserInfoSearch: { responseStatusStrg: 'MORE', numOfMatches: 0 } }) }));
    const error = await rejection((async () => { for await (const _ of searchUsers(client)) void _; })());
    expect(error.errorClass).toBe('limited_retry');
    expect(device.requestsTo('/ISAPI/AccessControl/UserInfo/Search').filter((r) => r.auth === 'ok')).toHaveLength(1);
  });
});

describe('cards', () => {
  it('converges on cardNoAlreadyExist for the same owner and reports a conflict for another', async () => {
    const { device, client } = await setup();
    device.route('POST', '/ISAPI/AccessControl/CardInfo/Record', () => failure(400, 6, 'cardNoAlreadyExist'));
    device.route('POST', '/ISAPI/AccessControl/CardInfo/Search', (request) => {
      const owner = ((bodyJson(request)['CardInfoSearchCond'] as { EmployeeNoList: { employeeNo: string }[] }).EmployeeNoList[0]!).employeeNo;
      const cards = owner === '10' ? [{ employeeNo: '10', cardNo: '0001234', cardType: 'normalCard' }] : [];
      return { body: JSON.stringify({ CardInfoSearch: { responseStatusStrg: cards.length ? 'OK' : 'NO MATCH', numOfMatches: cards.length, CardInfo: cards } }) };
    });
    expect(await upsertCard(client, { employeeNo: '10', cardNo: '0001234' })).toEqual({ via: 'existing' });
    const conflict = await rejection(upsertCard(client, { employeeNo: '11', cardNo: '0001234' }));
    expect(conflict).toMatchObject({ errorClass: 'permanent', permanentKind: 'conflict', subStatusCode: 'cardNoAlreadyExist' });
    const record = device.requestsTo('/ISAPI/AccessControl/CardInfo/Record').find((r) => r.auth === 'ok')!;
    expect(bodyJson(record)).toEqual({ CardInfo: { employeeNo: '10', cardNo: '0001234', cardType: 'normalCard' } });
  });

  it('deletes by card number and treats a missing card as done', async () => {
    const { device, client } = await setup();
    device.route('PUT', '/ISAPI/AccessControl/CardInfo/Delete', () => failure(400, 6, 'cardNoNotExist'));
    expect(await deleteCard(client, '007')).toEqual({ existed: false });
    expect(bodyJson(device.requestsTo('/ISAPI/AccessControl/CardInfo/Delete').at(-1)!)).toEqual({ CardInfoDelCond: { CardNoList: [{ cardNo: '007' }] } });
  });
});

describe('faces', () => {
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2000), Buffer.from([0xff, 0xd9])]);

  it('uploads with FDSetUp as multipart with the JSON part first', async () => {
    const { device, client } = await setup();
    device.route('PUT', '/ISAPI/Intelligent/FDLib/FDSetUp', () => ok({ FPID: '10023' }));
    expect(await upsertFace(client, '10023', jpeg)).toEqual({ via: 'setup' });
    const upload = device.requestsTo('/ISAPI/Intelligent/FDLib/FDSetUp').at(-1)!;
    const boundary = /boundary=(.+)$/.exec(upload.contentType ?? '')?.[1];
    expect(boundary).toBeDefined();
    const text = upload.body.toString('latin1');
    expect(text.indexOf('name="FaceDataRecord"')).toBeLessThan(text.indexOf('name="img"; filename="10023.jpg"'));
    expect(upload.body.includes(jpeg)).toBe(true);
    expect(text.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });

  it('falls back to delete + FaceDataRecord where FDSetUp is unsupported', async () => {
    const { device, client } = await setup();
    device.route('PUT', '/ISAPI/Intelligent/FDLib/FDSetUp', () => failure(403, 4, 'notSupport'));
    device.route('PUT', '/ISAPI/Intelligent/FDLib/FDSearch/Delete', () => failure(400, 6, 'deleteNoExistFace'));
    device.route('POST', '/ISAPI/Intelligent/FDLib/FaceDataRecord', () => ok());
    expect(await upsertFace(client, '10023', jpeg)).toEqual({ via: 'record' });
    const deleteRequest = device.requestsTo('/ISAPI/Intelligent/FDLib/FDSearch/Delete').at(-1)!;
    expect(deleteRequest.url).toBe('/ISAPI/Intelligent/FDLib/FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD');
    expect(bodyJson(deleteRequest)).toEqual({ FPID: [{ value: '10023' }] });
    expect(await deleteFace(client, '10023')).toEqual({ existed: false });
  });

  it('refuses an oversize photo without contacting the device', async () => {
    const { device, client } = await setup();
    const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(210_000), Buffer.from([0xff, 0xd9])]);
    const error = await rejection(upsertFace(client, '1', big));
    expect(error).toMatchObject({ errorClass: 'permanent', permanentKind: 'photo' });
    expect(device.seen).toHaveLength(0);
  });
});

describe('httpHosts', () => {
  const slotXml = (id: number, ip: string, port: number, url: string) =>
    `<HttpHostNotification><id>${id}</id><url>${url}</url><protocolType>HTTP</protocolType><parameterFormatType>XML</parameterFormatType>` +
    `<addressingFormatType>ipaddress</addressingFormatType><ipAddress>${ip}</ipAddress><portNo>${port}</portNo><userName></userName>` +
    '<httpAuthenticationMethod>none</httpAuthenticationMethod><httpBroken>false</httpBroken></HttpHostNotification>';

  /** A device whose slots can be read and written; returns the PUT bodies it received. */
  function serveSlots(device: FakeDevice, slots: Map<number, string>): string[] {
    const writes: string[] = [];
    device.route('GET', '/ISAPI/Event/notification/httpHosts', () => ({
      contentType: 'application/xml',
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<HttpHostNotificationList version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">${[...slots.values()].join('')}</HttpHostNotificationList>`,
    }));
    for (const id of slots.keys()) {
      device.route('PUT', `/ISAPI/Event/notification/httpHosts/${id}`, (request) => {
        const text = request.body.toString('utf8');
        writes.push(text);
        slots.set(id, text.replace(/^<\?xml[^>]*>\s*/, ''));
        return { contentType: 'application/xml', body: '<ResponseStatus><statusCode>1</statusCode><statusString>OK</statusString><subStatusCode>ok</subStatusCode></ResponseStatus>' };
      });
    }
    return writes;
  }

  it('takes the first empty slot, leaves the foreign one alone, and skips an unchanged rewrite', async () => {
    const { device, client } = await setup();
    const slots = new Map([
      [1, slotXml(1, '10.0.0.9', 8000, '/vms')],
      [2, slotXml(2, '0.0.0.0', 80, '')],
      [3, slotXml(3, '0.0.0.0', 80, '')],
    ]);
    const writes = serveSlots(device, slots);
    const url = 'http://192.168.1.50:8080/hikvision/events/tok123';
    expect(await configureEventPush(client, { url, ownedSlotId: 1 })).toEqual({ slotId: 2, changed: true });
    expect(writes).toHaveLength(1);
    const { root, content } = parseXmlDocument(writes[0]!);
    expect(root).toBe('HttpHostNotification');
    expect(content).toEqual({
      id: '2', url: '/hikvision/events/tok123', protocolType: 'HTTP', parameterFormatType: 'JSON', addressingFormatType: 'ipaddress',
      ipAddress: '192.168.1.50', portNo: '8080', httpAuthenticationMethod: 'none', httpBroken: 'true',
    });
    expect(writes[0]).toContain('xmlns="http://www.hikvision.com/ver20/XMLSchema"');

    expect(await configureEventPush(client, { url, ownedSlotId: 2 })).toEqual({ slotId: 2, changed: false });
    expect(await configureEventPush(client, { url })).toEqual({ slotId: 2, changed: false });
    expect(writes).toHaveLength(1);
    expect((await readHttpHosts(client)).find((slot) => slot.id === 1)).toMatchObject({ ipAddress: '10.0.0.9', url: '/vms' });
  });

  it('writes hostname targets with digest credentials into the owned slot', async () => {
    const { device, client } = await setup();
    const writes = serveSlots(device, new Map([[1, slotXml(1, '0.0.0.0', 80, '')], [2, slotXml(2, '0.0.0.0', 80, '')]]));
    const result = await configureEventPush(client, { url: 'https://hikhub.example/hikvision/events/t', ownedSlotId: 2, authentication: { username: 'dev', password: 'p<&>' } });
    expect(result).toEqual({ slotId: 2, changed: true });
    expect(parseXmlDocument(writes[0]!).content).toMatchObject({
      addressingFormatType: 'hostname', hostName: 'hikhub.example', portNo: '443', protocolType: 'HTTPS',
      httpAuthenticationMethod: 'MD5digest', userName: 'dev', password: 'p<&>',
    });
  });

  it('rewrites a slot still pointing at hikhub with an old token, instead of taking a second slot', async () => {
    const { device, client } = await setup();
    const writes = serveSlots(device, new Map([[1, slotXml(1, '0.0.0.0', 80, '')], [2, slotXml(2, '192.168.1.50', 8080, '/hikvision/events/old-token')]]));
    // The slot id was never recorded (a lost answer, or the device deleted and added again).
    expect(await configureEventPush(client, { url: 'http://192.168.1.50:8080/hikvision/events/new-token' })).toEqual({ slotId: 2, changed: true });
    expect(parseXmlDocument(writes[0]!).content).toMatchObject({ id: '2', url: '/hikvision/events/new-token' });
  });

  it('never overwrites a foreign slot, even the one we believe we own', async () => {
    const { device, client } = await setup();
    const writes = serveSlots(device, new Map([[1, slotXml(1, '10.0.0.9', 8000, '/vms')], [2, slotXml(2, '10.0.0.10', 80, '/nvr')]]));
    const error = await rejection(configureEventPush(client, { url: 'http://192.168.1.50:8080/e/t', ownedSlotId: 2 }));
    expect(error).toMatchObject({ errorClass: 'permanent', subStatusCode: 'noFreeHttpHostSlot' });
    expect(writes).toHaveLength(0);
    expect(device.seen.filter((r) => r.method === 'PUT')).toHaveLength(0);
  });
});
