import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDigestAuthorization, parseDigestChallenge } from '../../libs/digest/digest.js';
import { loadAsset } from '../../tools/simulator/assets.js';
import { ERROR_TUPLES, type IsapiErrorTuple } from '../../tools/simulator/error-tuples.js';
import { startSimulatedTerminal, type SimulatedTerminal, type SimulatedTerminalOptions } from '../../tools/simulator/terminal.js';
import { IsapiTestClient, parseJson, send, type Answer } from '../helpers/simulator.js';
import { waitFor } from '../helpers/wait.js';

/** The ISAPI terminal simulator over real sockets: Digest, people/cards/faces, httpHosts, faults. */

const PASSWORD = 'Test-Password-9';
const USER_RECORD = '/ISAPI/AccessControl/UserInfo/Record?format=json';
const USER_SEARCH = '/ISAPI/AccessControl/UserInfo/Search?format=json';
const CARD_RECORD = '/ISAPI/AccessControl/CardInfo/Record?format=json';
const FACE_RECORD = '/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json';
const FACE_SETUP = '/ISAPI/Intelligent/FDLib/FDSetUp?format=json';

const started: SimulatedTerminal[] = [];
async function terminal(options: SimulatedTerminalOptions = {}): Promise<SimulatedTerminal> {
  const simulated = await startSimulatedTerminal({ password: PASSWORD, ...options });
  started.push(simulated);
  return simulated;
}
afterAll(async () => {
  await Promise.all(started.map((simulated) => simulated.close()));
});

const clientFor = (simulated: SimulatedTerminal, password = PASSWORD) => new IsapiTestClient(simulated.url, { username: 'admin', password });

const user = (employeeNo: string, extra: Record<string, unknown> = {}) => ({
  UserInfo: {
    employeeNo,
    name: `Person ${employeeNo}`,
    userType: 'normal',
    Valid: { enable: true, beginTime: '2025-01-01T00:00:00', endTime: '2035-12-31T23:59:59', timeType: 'local' },
    doorRight: '1',
    RightPlan: [{ doorNo: 1, planTemplateNo: '1' }],
    ...extra,
  },
});

const facePart = (FPID: string) => ({ name: 'FaceDataRecord', contentType: 'application/json', body: JSON.stringify({ faceLibType: 'blackFD', FDID: '1', FPID }) });
const imagePart = (bytes: Buffer, name = 'img') => ({ name, filename: 'face.jpg', contentType: 'image/jpeg', body: bytes });

function expectIsapiError(answer: Answer, tuple: IsapiErrorTuple, errorMsg?: string): void {
  expect(answer.status).toBe(tuple.httpStatus);
  const body = parseJson(answer);
  expect(body).toMatchObject({ statusCode: tuple.statusCode, statusString: tuple.statusString, subStatusCode: tuple.subStatusCode });
  if (tuple.errorCode !== undefined) expect(body.errorCode).toBe(tuple.errorCode);
  if (errorMsg !== undefined) expect(body.errorMsg).toBe(errorMsg);
}

const expectOk = (answer: Answer) => {
  expect(answer.status).toBe(200);
  expect(parseJson(answer)).toMatchObject({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok' });
};

describe('digest authentication', () => {
  let clock = Date.now();
  let simulated: SimulatedTerminal;
  beforeAll(async () => {
    simulated = await terminal({ lockoutThreshold: 3, nonceLifetimeMs: 60_000, clock: () => clock });
  });
  afterEach(() => simulated.reboot());

  it('challenges like a DS-K1T673 and answers deviceInfo in XML even with format=json', async () => {
    const anonymous = await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Digest qop="auth", realm="DS-[0-9A-F]{8}", nonce="[A-Za-z0-9+/]+=*", stale="false", opaque="", domain="::"$/);
    expect(anonymous.text).toContain('<lockStatus>unlock</lockStatus>');
    expect(anonymous.text).toContain('<retryLoginTime>3</retryLoginTime>');

    const info = await clientFor(simulated).request('GET', '/ISAPI/System/deviceInfo?format=json');
    expect(info.status).toBe(200);
    expect(info.text).toContain('<DeviceInfo version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">');
    expect(info.text).toContain(`<serialNumber>${simulated.identity.serialNumber}</serialNumber>`);
    expect(info.text).toContain('<subDeviceType>accessControlTerminal</subDeviceType>');
    expect(simulated.authFailures).toBe(0);
  });

  it('reuses a challenge with nc+1 and refuses a replayed nc without counting a failure', async () => {
    const client = clientFor(simulated);
    expect((await client.request('GET', '/ISAPI/System/deviceInfo')).status).toBe(200);
    expect((await client.request('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json')).status).toBe(200);
    const challenge = parseDigestChallenge((await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo')).headers['www-authenticate'])!;
    const authorization = createDigestAuthorization(challenge, { username: 'admin', password: PASSWORD }, { method: 'GET', uri: '/ISAPI/System/deviceInfo', nc: 1, cnonce: 'abc' });
    expect((await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo', { headers: { Authorization: authorization } })).status).toBe(200);
    expect((await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo', { headers: { Authorization: authorization } })).status).toBe(401);
    expect(simulated.authFailures).toBe(0);
  });

  it('counts a uri that differs from the request target as a wrong login', async () => {
    const challenge = parseDigestChallenge((await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo')).headers['www-authenticate'])!;
    const authorization = createDigestAuthorization(challenge, { username: 'admin', password: PASSWORD }, { method: 'GET', uri: '/ISAPI/System/deviceInfo', nc: 1, cnonce: 'abc' });
    const before = simulated.authFailures;
    const answer = await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo?format=json', { headers: { Authorization: authorization } });
    expect(answer.status).toBe(401);
    expect(simulated.authFailures).toBe(before + 1);
  });

  /** One login attempt on a fresh challenge (the test client's retry would spend two). */
  async function attempt(password: string): Promise<Answer> {
    const challenge = parseDigestChallenge((await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo')).headers['www-authenticate'])!;
    const authorization = createDigestAuthorization(challenge, { username: 'admin', password }, { method: 'GET', uri: '/ISAPI/System/deviceInfo', nc: 1, cnonce: 'c0ffee' });
    return send(simulated.url, 'GET', '/ISAPI/System/deviceInfo', { headers: { Authorization: authorization } });
  }

  it('locks the client IP after the threshold of wrong passwords until a reboot', async () => {
    const before = simulated.authFailures;
    const first = await attempt('not-the-password');
    expect(first.status).toBe(401);
    expect(first.text).toContain('<lockStatus>unlock</lockStatus>');
    expect(first.text).toContain('<retryLoginTime>2</retryLoginTime>');
    expect((await attempt('not-the-password')).text).toContain('<retryLoginTime>1</retryLoginTime>');
    const third = await attempt('not-the-password');
    expect(third.status).toBe(401);
    expect(third.text).toContain('<lockStatus>lock</lockStatus>');
    expect(third.text).toContain('<unlockTime>1800</unlockTime>');
    expect(third.text).toContain('<retryLoginTime>0</retryLoginTime>');
    expect(simulated.authFailures).toBe(before + 3);

    const right = await attempt(PASSWORD);
    expect(right.status).toBe(401);
    expect(right.text).toContain('<lockStatus>lock</lockStatus>');
    expect(simulated.authFailures).toBe(before + 3);
    expect(simulated.state().locks).toEqual([{ ip: expect.any(String), unlockInSeconds: 1800 }]);

    simulated.reboot();
    expect((await attempt(PASSWORD)).status).toBe(200);
  });

  it('lifts the lock when the lock window has passed', async () => {
    for (let count = 0; count < 3; count += 1) await attempt('nope');
    expect((await attempt(PASSWORD)).text).toContain('<lockStatus>lock</lockStatus>');
    clock += 30 * 60_000 + 1;
    expect((await attempt(PASSWORD)).status).toBe(200);
  });

  it('answers an expired nonce with stale="true" and does not count it as a failure', async () => {
    const client = clientFor(simulated);
    expect((await client.request('GET', '/ISAPI/System/deviceInfo')).status).toBe(200);
    clock += 60_001;
    const before = simulated.authFailures;
    const authorization = client.session.authorization('GET', '/ISAPI/System/deviceInfo')!;
    const stale = await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo', { headers: { Authorization: authorization } });
    expect(stale.status).toBe(401);
    expect(stale.headers['www-authenticate']).toContain('stale="true"');
    expect(simulated.authFailures).toBe(before);
  });

  it('refuses Basic, counting it only when it carries a password', async () => {
    const before = simulated.authFailures;
    const empty = await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo', { headers: { Authorization: `Basic ${Buffer.from('admin:').toString('base64')}` } });
    expect(empty.status).toBe(401);
    expect(simulated.authFailures).toBe(before);
    const withPassword = await send(simulated.url, 'GET', '/ISAPI/System/deviceInfo', { headers: { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` } });
    expect(withPassword.status).toBe(401);
    expect(withPassword.headers['www-authenticate']).toMatch(/^Digest /);
    expect(simulated.authFailures).toBe(before + 1);
  });
});

describe('people', () => {
  let simulated: SimulatedTerminal;
  let client: IsapiTestClient;
  beforeAll(async () => {
    simulated = await terminal();
    client = clientFor(simulated);
  });

  it('creates with Record, refuses a duplicate with the captured tuple, modifies partially and upserts with SetUp', async () => {
    expectOk(await client.json('POST', USER_RECORD, user('100')));
    expectIsapiError(await client.json('POST', USER_RECORD, user('100')), ERROR_TUPLES.employeeNoAlreadyExist, 'checkUser');
    expectIsapiError(await client.json('PUT', '/ISAPI/AccessControl/UserInfo/Modify?format=json', user('101')), ERROR_TUPLES.employeeNoNotExist);
    expectOk(await client.json('PUT', '/ISAPI/AccessControl/UserInfo/Modify?format=json', { UserInfo: { employeeNo: '100', name: 'Renamed' } }));
    expectOk(await client.json('PUT', '/ISAPI/AccessControl/UserInfo/SetUp?format=json', user('101')));
    const stored = simulated.users().find((person) => person.employeeNo === '100');
    expect(stored).toMatchObject({ name: 'Renamed', Valid: { beginTime: '2025-01-01T00:00:00' } });
    expect(simulated.users().map((person) => person.employeeNo)).toContain('101');
  });

  it('validates employeeNo, the validity window and the root object', async () => {
    expectIsapiError(await client.json('POST', USER_RECORD, user('no-dashes')), ERROR_TUPLES.illegalEmployeeNo);
    expectIsapiError(await client.json('POST', USER_RECORD, user('x'.repeat(33))), ERROR_TUPLES.illegalEmployeeNo);
    const tooEarly = user('200', { Valid: { enable: true, beginTime: '1970-01-01T00:00:00', endTime: '2030-01-01T00:00:00', timeType: 'local' } });
    expectIsapiError(await client.json('POST', USER_RECORD, tooEarly), ERROR_TUPLES.badJsonContent, 'beginTime and endTime');
    const tooLate = user('200', { Valid: { enable: true, beginTime: '2025-01-01T00:00:00', endTime: '2038-01-01T00:00:00', timeType: 'local' } });
    expectIsapiError(await client.json('POST', USER_RECORD, tooLate), ERROR_TUPLES.badJsonContent, 'beginTime and endTime');
    const reversed = user('200', { Valid: { enable: true, beginTime: '2030-01-01T00:00:00', endTime: '2025-01-01T00:00:00', timeType: 'local' } });
    expectIsapiError(await client.json('POST', USER_RECORD, reversed), ERROR_TUPLES.endtimeEarlierThanBegintime);
    expectIsapiError(await client.json('POST', USER_RECORD, { employeeNo: '200' }), ERROR_TUPLES.MessageParametersLack, 'UserInfo');
    expectIsapiError(await client.request('POST', USER_RECORD, { body: '{not json', headers: { 'Content-Type': 'application/json' } }), ERROR_TUPLES.badJsonFormat);
  });

  it('pages a search 30 at a time (MORE, MORE, OK, then NO MATCH) and clamps maxResults', async () => {
    const paging = await terminal();
    const pagingClient = clientFor(paging);
    for (let index = 0; index < 75; index += 1) paging.addUser({ employeeNo: `P${index}` });
    const search = (position: number, maxResults = 30) =>
      pagingClient.json('POST', USER_SEARCH, { UserInfoSearchCond: { searchID: 'page-test', searchResultPosition: position, maxResults } }).then(parseJson);
    const pages = [await search(0), await search(30, 100), await search(60)];
    expect(pages.map((page) => page.UserInfoSearch.responseStatusStrg)).toEqual(['MORE', 'MORE', 'OK']);
    expect(pages.map((page) => page.UserInfoSearch.numOfMatches)).toEqual([30, 30, 15]);
    expect(pages.every((page) => page.UserInfoSearch.totalMatches === 75)).toBe(true);
    expect(pages.flatMap((page) => page.UserInfoSearch.UserInfo.map((row: { employeeNo: string }) => row.employeeNo))).toEqual(Array.from({ length: 75 }, (_, index) => `P${index}`));
    expect((await search(75)).UserInfoSearch).toMatchObject({ responseStatusStrg: 'NO MATCH', numOfMatches: 0 });
    const count = parseJson(await pagingClient.request('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json'));
    expect(count.UserInfoCount.userNumber).toBe(75);
  });

  it('filters a search by EmployeeNoList and reports numOfCard/numOfFace', async () => {
    expectOk(await client.json('POST', USER_RECORD, user('300')));
    expectOk(await client.json('POST', CARD_RECORD, { CardInfo: { employeeNo: '300', cardNo: '0003141592', cardType: 'normalCard' } }));
    expectOk(await client.multipart('POST', FACE_RECORD, [facePart('300'), imagePart(loadAsset('face.jpg'))]));
    const found = parseJson(await client.json('POST', USER_SEARCH, { UserInfoSearchCond: { searchID: 'x', searchResultPosition: 0, maxResults: 30, EmployeeNoList: [{ employeeNo: '300' }] } }));
    expect(found.UserInfoSearch).toMatchObject({ responseStatusStrg: 'OK', numOfMatches: 1, totalMatches: 1 });
    expect(found.UserInfoSearch.UserInfo[0]).toMatchObject({ employeeNo: '300', numOfCard: 1, numOfFace: 1 });
  });

  it('deletes people with their cards and face, and never deletes everything on an empty list', async () => {
    expectOk(await client.json('POST', USER_RECORD, user('400')));
    expectOk(await client.json('POST', CARD_RECORD, { CardInfo: { employeeNo: '400', cardNo: '400400', cardType: 'normalCard' } }));
    expectOk(await client.multipart('POST', FACE_RECORD, [facePart('400'), imagePart(loadAsset('face.jpg'))]));
    const usersBefore = simulated.users().length;
    expectIsapiError(await client.json('PUT', '/ISAPI/AccessControl/UserInfo/Delete?format=json', { UserInfoDelCond: { EmployeeNoList: [] } }), ERROR_TUPLES.badJsonContent, 'EmployeeNoList');
    expectIsapiError(await client.json('PUT', '/ISAPI/AccessControl/UserInfo/Delete?format=json', { UserInfoDelCond: {} }), ERROR_TUPLES.badJsonContent, 'EmployeeNoList');
    expect(simulated.users()).toHaveLength(usersBefore);
    expectOk(await client.json('PUT', '/ISAPI/AccessControl/UserInfo/Delete?format=json', { UserInfoDelCond: { EmployeeNoList: [{ employeeNo: '400' }] } }));
    expect(simulated.users().some((person) => person.employeeNo === '400')).toBe(false);
    expect(simulated.cards().some((card) => card.employeeNo === '400')).toBe(false);
    expect(simulated.faces().some((face) => face.FPID === '400')).toBe(false);
    expectIsapiError(await client.json('PUT', '/ISAPI/AccessControl/UserInfo/Delete?format=json', { UserInfoDelCond: { EmployeeNoList: [{ employeeNo: '400' }] } }), ERROR_TUPLES.employeeNoNotExist);
  });

  it('deletes asynchronously with UserInfoDetail (processing, then success) and wipes with mode all', async () => {
    const detail = await terminal({ deleteProcessingMs: 0 });
    const detailClient = clientFor(detail);
    detail.addUser({ employeeNo: '1' });
    detail.addUser({ employeeNo: '2' });
    expectOk(await detailClient.json('PUT', '/ISAPI/AccessControl/UserInfoDetail/Delete?format=json', { UserInfoDetail: { mode: 'byEmployeeNo', EmployeeNoList: [{ employeeNo: '1' }] } }));
    const progress = () => detailClient.request('GET', '/ISAPI/AccessControl/UserInfoDetail/DeleteProcess?format=json').then(parseJson);
    expect((await progress()).UserInfoDetailDeleteProcess.status).toBe('processing');
    await waitFor(async () => (await progress()).UserInfoDetailDeleteProcess.status === 'success', 5_000, 'DeleteProcess success');
    expect(detail.users().map((person) => person.employeeNo)).toEqual(['2']);
    expectIsapiError(await detailClient.json('PUT', '/ISAPI/AccessControl/UserInfoDetail/Delete?format=json', { UserInfoDetail: { mode: 'byEmployeeNo', EmployeeNoList: [] } }), ERROR_TUPLES.badJsonContent);
    expectOk(await detailClient.json('PUT', '/ISAPI/AccessControl/UserInfoDetail/Delete?format=json', { UserInfoDetail: { mode: 'all' } }));
    expect(detail.users()).toEqual([]);
  });

  it('refuses writes past capacity with deviceUserFull', async () => {
    const small = await terminal({ capacity: { users: 1 } });
    const smallClient = clientFor(small);
    expectOk(await smallClient.json('POST', USER_RECORD, user('1')));
    expectIsapiError(await smallClient.json('POST', USER_RECORD, user('2')), ERROR_TUPLES.deviceUserFull);
    expectIsapiError(await smallClient.json('PUT', '/ISAPI/AccessControl/UserInfo/SetUp?format=json', user('2')), ERROR_TUPLES.deviceUserFull);
  });
});

describe('cards', () => {
  let simulated: SimulatedTerminal;
  let client: IsapiTestClient;
  beforeAll(async () => {
    simulated = await terminal();
    client = clientFor(simulated);
    simulated.addUser({ employeeNo: 'A1' });
    simulated.addUser({ employeeNo: 'B2' });
  });

  it('needs the person and refuses a card that already exists, whoever owns it', async () => {
    expectIsapiError(await client.json('POST', CARD_RECORD, { CardInfo: { employeeNo: 'Z9', cardNo: '555', cardType: 'normalCard' } }), ERROR_TUPLES.employeeNoNotExist);
    expectOk(await client.json('POST', CARD_RECORD, { CardInfo: { employeeNo: 'A1', cardNo: '0555', cardType: 'normalCard' } }));
    expectIsapiError(await client.json('POST', CARD_RECORD, { CardInfo: { employeeNo: 'A1', cardNo: '0555', cardType: 'normalCard' } }), ERROR_TUPLES.cardNoAlreadyExist);
    expectIsapiError(await client.json('POST', CARD_RECORD, { CardInfo: { employeeNo: 'B2', cardNo: '0555', cardType: 'normalCard' } }), ERROR_TUPLES.cardNoAlreadyExist);
    expectOk(await client.json('PUT', '/ISAPI/AccessControl/CardInfo/SetUp?format=json', { CardInfo: { employeeNo: 'B2', cardNo: '0777', cardType: 'normalCard' } }));
    expect(simulated.cards()).toEqual([
      { cardNo: '0555', employeeNo: 'A1', cardType: 'normalCard' },
      { cardNo: '0777', employeeNo: 'B2', cardType: 'normalCard' },
    ]);
  });

  it('searches by EmployeeNoList, counts, and deletes with exactly one list', async () => {
    const found = parseJson(await client.json('POST', '/ISAPI/AccessControl/CardInfo/Search?format=json', { CardInfoSearchCond: { searchID: 'c', searchResultPosition: 0, maxResults: 30, EmployeeNoList: [{ employeeNo: 'B2' }] } }));
    expect(found.CardInfoSearch).toMatchObject({ responseStatusStrg: 'OK', numOfMatches: 1, CardInfo: [{ cardNo: '0777', employeeNo: 'B2' }] });
    expect(parseJson(await client.request('GET', '/ISAPI/AccessControl/CardInfo/Count?format=json')).CardInfoCount.cardNumber).toBe(2);
    const both = { CardInfoDelCond: { CardNoList: [{ cardNo: '0555' }], EmployeeNoList: [{ employeeNo: 'B2' }] } };
    expectIsapiError(await client.json('PUT', '/ISAPI/AccessControl/CardInfo/Delete?format=json', both), ERROR_TUPLES.badJsonContent);
    expectIsapiError(await client.json('PUT', '/ISAPI/AccessControl/CardInfo/Delete?format=json', { CardInfoDelCond: {} }), ERROR_TUPLES.badJsonContent);
    expectOk(await client.json('PUT', '/ISAPI/AccessControl/CardInfo/Delete?format=json', { CardInfoDelCond: { EmployeeNoList: [{ employeeNo: 'B2' }] } }));
    expect(simulated.cards().map((card) => card.cardNo)).toEqual(['0555']);
  });
});

describe('faces', () => {
  let simulated: SimulatedTerminal;
  let client: IsapiTestClient;
  beforeAll(async () => {
    simulated = await terminal();
    client = clientFor(simulated);
    simulated.addUser({ employeeNo: 'F1' });
  });

  it('enrols a JPEG from a multipart upload, refuses a second face, and replaces it with FDSetUp', async () => {
    expectIsapiError(await client.multipart('POST', FACE_RECORD, [facePart('F404'), imagePart(loadAsset('face.jpg'))]), ERROR_TUPLES.employeeNoNotExist);
    const added = await client.multipart('POST', FACE_RECORD, [facePart('F1'), imagePart(loadAsset('face.jpg'), 'FaceImage')]);
    expectOk(added);
    expect(parseJson(added).FPID).toBe('F1');
    expectIsapiError(await client.multipart('POST', FACE_RECORD, [facePart('F1'), imagePart(loadAsset('face.jpg'))]), ERROR_TUPLES.deviceUserAlreadyExistFace);
    expectOk(await client.multipart('PUT', FACE_SETUP, [facePart('F1'), imagePart(loadAsset('face-2.jpg'))]));
    expect(simulated.faces()[0]!.bytes.equals(loadAsset('face-2.jpg'))).toBe(true);
  });

  it('validates the picture: oversize, not a JPEG, too small, record part not first', async () => {
    expectIsapiError(await client.multipart('PUT', FACE_SETUP, [facePart('F1'), imagePart(loadAsset('oversize.jpg'))]), ERROR_TUPLES.badJsonFormat, 'faceURL');
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(4096)]);
    expectIsapiError(await client.multipart('PUT', FACE_SETUP, [facePart('F1'), imagePart(png)]), ERROR_TUPLES.picFormatError);
    expectIsapiError(await client.multipart('PUT', FACE_SETUP, [facePart('F1'), imagePart(loadAsset('face.jpg').subarray(0, 600))]), ERROR_TUPLES.pictureFaceDetectZero);
    expectIsapiError(await client.multipart('PUT', FACE_SETUP, [imagePart(loadAsset('face.jpg')), facePart('F1')]), ERROR_TUPLES.MessageParametersLack, 'FaceDataRecord');
    // A rejected picture leaves the previous face in place.
    expect(simulated.faces()[0]!.bytes.equals(loadAsset('face-2.jpg'))).toBe(true);
  });

  it('finds the face with FDSearch, serves its picture, and deletes it', async () => {
    const found = parseJson(await client.json('POST', '/ISAPI/Intelligent/FDLib/FDSearch?format=json', { searchResultPosition: 0, maxResults: 10, faceLibType: 'blackFD', FDID: '1', FPID: 'F1' }));
    expect(found).toMatchObject({ statusCode: 1, responseStatusStrg: 'OK', numOfMatches: 1, totalMatches: 1 });
    const picture = await client.request('GET', new URL(found.MatchList[0].faceURL).pathname);
    expect(picture.headers['content-type']).toBe('image/jpeg');
    expect(picture.body.equals(loadAsset('face-2.jpg'))).toBe(true);
    const remove = '/ISAPI/Intelligent/FDLib/FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD';
    expectOk(await client.json('PUT', remove, { FPID: [{ value: 'F1' }] }));
    expect(simulated.faces()).toEqual([]);
    expectIsapiError(await client.json('PUT', remove, { FPID: [{ value: 'F1' }] }), ERROR_TUPLES.deleteNoExistFace);
    expectIsapiError(await client.json('PUT', remove, { FPID: [] }), ERROR_TUPLES.badJsonContent, 'FPID');
  });

  it('deletes through FDSetUp with deleteFP', async () => {
    expectOk(await client.multipart('PUT', FACE_SETUP, [facePart('F1'), imagePart(loadAsset('face.jpg'))]));
    expectOk(await client.json('PUT', FACE_SETUP, { faceLibType: 'blackFD', FDID: '1', FPID: 'F1', deleteFP: true }));
    expect(simulated.faces()).toEqual([]);
  });
});

describe('httpHosts and other endpoints', () => {
  let simulated: SimulatedTerminal;
  let client: IsapiTestClient;
  beforeAll(async () => {
    simulated = await terminal({ xmlNamespace: 'hikvision' });
    client = clientFor(simulated);
  });
  const hostXml = (id: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><HttpHostNotification version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><id>${id}</id><url>/hikvision/events/tok</url>` +
    '<protocolType>HTTP</protocolType><parameterFormatType>JSON</parameterFormatType><addressingFormatType>ipaddress</addressingFormatType>' +
    '<ipAddress>192.0.2.10</ipAddress><portNo>8080</portNo><httpAuthenticationMethod>MD5digest</httpAuthenticationMethod><userName>hub</userName><password>secret</password></HttpHostNotification>';

  it('lists three slots, sets and clears one, refuses a slot that does not exist', async () => {
    const list = await client.request('GET', '/ISAPI/Event/notification/httpHosts');
    expect(list.text).toContain('xmlns="http://www.hikvision.com/ver20/XMLSchema"');
    expect(list.text.match(/<ipAddress>0\.0\.0\.0<\/ipAddress>/g)).toHaveLength(3);

    const put = await client.request('PUT', '/ISAPI/Event/notification/httpHosts/2', { body: hostXml('2'), headers: { 'Content-Type': 'application/xml' } });
    expect(put.status).toBe(200);
    expect(put.text).toContain('<statusCode>1</statusCode>');
    const slot = await client.request('GET', '/ISAPI/Event/notification/httpHosts/2');
    expect(slot.text).toContain('<ipAddress>192.0.2.10</ipAddress>');
    expect(slot.text).not.toContain('secret');
    expect(simulated.httpHosts()[1]).toMatchObject({ id: '2', url: '/hikvision/events/tok', portNo: '8080' });

    const outside = await client.request('PUT', '/ISAPI/Event/notification/httpHosts/4', { body: hostXml('4'), headers: { 'Content-Type': 'application/xml' } });
    expect(outside.status).toBe(ERROR_TUPLES.deployExceedMax.httpStatus);
    expect(outside.text).toContain('<subStatusCode>deployExceedMax</subStatusCode>');
    const test = await client.request('POST', '/ISAPI/Event/notification/httpHosts/2/test');
    expect(test.status).toBe(200);
    expect(test.text).toContain('<ResponseStatus');

    expect((await client.request('DELETE', '/ISAPI/Event/notification/httpHosts/2')).status).toBe(200);
    expect(simulated.httpHosts()[1]).toMatchObject({ ipAddress: '0.0.0.0' });
  });

  it('replaces the whole list with a list PUT', async () => {
    const body = `<HttpHostNotificationList>${hostXml('3').replace(/^<\?xml[^>]*\?>/, '')}</HttpHostNotificationList>`;
    expect((await client.request('PUT', '/ISAPI/Event/notification/httpHosts', { body })).status).toBe(200);
    expect(simulated.httpHosts().map((slot) => slot.ipAddress)).toEqual(['0.0.0.0', '0.0.0.0', '192.0.2.10']);
    const bad = await client.request('PUT', '/ISAPI/Event/notification/httpHosts', { body: '<HttpHostNotificationList><oops>' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<subStatusCode>badXmlFormat</subStatusCode>');
  });

  it('answers 404 notSupport, 405 methodNotAllowed, and badXmlFormat without ?format=json', async () => {
    const unknown = await client.request('GET', '/ISAPI/Nothing/here');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('<subStatusCode>notSupport</subStatusCode>');
    expectIsapiError(await client.request('DELETE', USER_RECORD), ERROR_TUPLES.methodNotAllowed);
    const noFormat = await client.json('POST', '/ISAPI/AccessControl/UserInfo/Record', user('1'));
    expect(noFormat.status).toBe(400);
    expect(noFormat.text).toContain('<subStatusCode>badXmlFormat</subStatusCode>');
    expect((await client.request('GET', '/ISAPI/AccessControl/capabilities')).text).toContain('<isSupportUserInfoDetailDelete>true</isSupportUserInfoDetailDelete>');
    expect(parseJson(await client.request('GET', '/ISAPI/AccessControl/UserInfo/capabilities?format=json')).UserInfo.UserInfoSearchCond.maxResults['@max']).toBe(30);
  });
});

describe('faults', () => {
  let simulated: SimulatedTerminal;
  let client: IsapiTestClient;
  beforeAll(async () => {
    simulated = await terminal();
    client = clientFor(simulated);
  });
  afterEach(() => simulated.clearFaults());

  it('answers busy with 503 deviceBusy for the queued number of matching requests only', async () => {
    simulated.queueFault({ kind: 'busy', times: 2, match: { pathIncludes: '/UserInfo/Record' } });
    expect((await client.request('GET', '/ISAPI/System/deviceInfo')).status).toBe(200);
    expectIsapiError(await client.json('POST', USER_RECORD, user('B1')), ERROR_TUPLES.deviceBusy);
    expectIsapiError(await client.json('POST', USER_RECORD, user('B1')), ERROR_TUPLES.deviceBusy);
    expectOk(await client.json('POST', USER_RECORD, user('B1')));
    expect(simulated.requestLog.filter((entry) => entry.fault === 'busy')).toHaveLength(2);
  });

  it('answers any error tuple, and with errorBodyWith200 the same body under HTTP 200', async () => {
    simulated.queueFault({ kind: 'error', error: 'deviceError' });
    expectIsapiError(await client.request('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json'), ERROR_TUPLES.deviceError);
    simulated.setErrorBodyWith200(true);
    try {
      const answer = await client.json('POST', USER_RECORD, user('B1'));
      expect(answer.status).toBe(200);
      expect(parseJson(answer)).toMatchObject({ statusCode: 6, subStatusCode: 'employeeNoAlreadyExist' });
    } finally {
      simulated.setErrorBodyWith200(false);
    }
  });

  it('drops the connection before handling: nothing applied', async () => {
    await client.request('GET', '/ISAPI/System/deviceInfo');
    simulated.queueFault({ kind: 'drop', match: { method: 'POST' } });
    await expect(client.json('POST', USER_RECORD, user('D1'))).rejects.toThrow();
    expect(simulated.users().some((person) => person.employeeNo === 'D1')).toBe(false);
  });

  it('loses the response after applying the write', async () => {
    await client.request('GET', '/ISAPI/System/deviceInfo');
    simulated.queueFault({ kind: 'lose-response', match: { pathIncludes: 'UserInfo/Record' } });
    await expect(client.json('POST', USER_RECORD, user('L1'))).rejects.toThrow();
    expect(simulated.users().some((person) => person.employeeNo === 'L1')).toBe(true);
    expectIsapiError(await client.json('POST', USER_RECORD, user('L1')), ERROR_TUPLES.employeeNoAlreadyExist);
  });

  it('labels JSON as XML with wrongContentType', async () => {
    simulated.setWrongContentType(true);
    try {
      const answer = await client.request('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json');
      expect(answer.headers['content-type']).toBe('text/xml');
      expect(parseJson(answer).UserInfoCount).toBeDefined();
    } finally {
      simulated.setWrongContentType(false);
    }
  });

  it('hangs without answering until the terminal closes', async () => {
    const hanging = await startSimulatedTerminal({ password: PASSWORD });
    const hangingClient = clientFor(hanging);
    await hangingClient.request('GET', '/ISAPI/System/deviceInfo');
    hanging.queueFault({ kind: 'hang' });
    const pending = hangingClient.request('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json');
    await waitFor(async () => hanging.requestLog.some((entry) => entry.fault === 'hang'), 5_000, 'the hang fault');
    await hanging.close();
    await expect(pending).rejects.toThrow();
  });

  it('is driven over the /_sim control API', async () => {
    const control = (method: string, path: string, body?: unknown) =>
      send(simulated.url, method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    expect((await control('POST', '/_sim/users', { employeeNo: 'C1', name: 'Behind your back' })).status).toBe(200);
    expect(simulated.users().some((person) => person.employeeNo === 'C1')).toBe(true);
    expect((await control('DELETE', '/_sim/users/C1')).status).toBe(200);
    expect((await control('DELETE', '/_sim/users/C1')).status).toBe(404);
    expect((await control('POST', '/_sim/faults', { kind: 'error', error: 'rebootRequired', match: { method: 'GET' } })).status).toBe(200);
    expect((await control('POST', '/_sim/faults', { kind: 'meltdown' })).status).toBe(400);
    const answer = await client.request('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json');
    expect(parseJson(answer)).toMatchObject({ statusCode: 7, subStatusCode: 'rebootRequired' });
    expect((await control('POST', '/_sim/latency', { ms: 0 })).status).toBe(200);
    expect((await control('POST', '/_sim/reboot')).status).toBe(200);
    const state = parseJson(await control('GET', '/_sim/state'));
    expect(state).toMatchObject({ identity: { serialNumber: simulated.identity.serialNumber }, latencyMs: 0, pendingFaults: [] });
    expect(state.requestsByPath['/ISAPI/AccessControl/UserInfo/Record']).toBeGreaterThan(0);
  });
});

describe('concurrency', () => {
  it('counts authenticated requests in flight: two overlapping ones make a maximum of 2', async () => {
    const busy = await startSimulatedTerminal({ password: PASSWORD });
    const first = clientFor(busy);
    const second = clientFor(busy);
    // One after the other, each with its 401 handshake: handshakes do not count, so never above 1.
    expect((await first.request('GET', '/ISAPI/System/deviceInfo')).status).toBe(200);
    expect((await second.request('GET', '/ISAPI/System/deviceInfo')).status).toBe(200);
    expect(busy.requestLog.filter((entry) => entry.httpStatus === 401)).toHaveLength(2);
    expect(busy.maxConcurrentRequests).toBe(1);
    expect(busy.concurrentRequests).toBe(0);

    // The first request hangs (in flight, no answer) while the second one is answered.
    busy.resetConcurrency();
    expect(busy.maxConcurrentRequests).toBe(0);
    busy.queueFault({ kind: 'hang', match: { pathIncludes: 'UserInfo/Count' } });
    const hanging = first.request('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json');
    await waitFor(async () => busy.concurrentRequests === 1, 5_000, 'the hanging request in flight');
    expect((await second.request('GET', '/ISAPI/AccessControl/UserInfo/Count?format=json')).status).toBe(200);
    expect(busy.maxConcurrentRequests).toBe(2);
    expect(busy.concurrentRequests).toBe(1);
    expect(busy.state()).toMatchObject({ concurrentRequests: 1, maxConcurrentRequests: 2 });

    // Closing the socket ends the hanging request.
    await busy.close();
    await expect(hanging).rejects.toThrow();
    expect(busy.concurrentRequests).toBe(0);
    expect(busy.maxConcurrentRequests).toBe(2);
  });
});
