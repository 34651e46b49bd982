import { describe, expect, it } from 'vitest';
import { classifyIsapiFailure, IsapiError, KNOWN_SUB_STATUS_CODES, type IsapiErrorClass } from '../../libs/isapi/errors.js';
import { extractLock, extractResponseStatus, parseResponseBody } from '../../libs/isapi/response-body.js';

const status = (statusCode: number, subStatusCode: string, errorMsg?: string) => ({ statusCode, subStatusCode, ...(errorMsg ? { errorMsg } : {}) });

describe('classifyIsapiFailure', () => {
  it('classifies every known subStatusCode by its table entry, whatever the HTTP status', () => {
    for (const [subStatusCode, expected] of Object.entries(KNOWN_SUB_STATUS_CODES)) {
      expect(classifyIsapiFailure(400, status(6, subStatusCode)), subStatusCode).toEqual(expected);
      expect(classifyIsapiFailure(200, status(6, subStatusCode)), `${subStatusCode} with HTTP 200`).toEqual(expected);
    }
  });

  it('covers every class in the table except auth, which comes from HTTP 401', () => {
    const classes = new Set(Object.values(KNOWN_SUB_STATUS_CODES).map((entry) => entry.errorClass));
    const all: IsapiErrorClass[] = ['retry', 'limited_retry', 'converge', 'permanent', 'unsupported', 'operator'];
    expect([...classes].sort()).toEqual([...all].sort());
    expect(classifyIsapiFailure(401).errorClass).toBe('auth');
  });

  it.each([
    [2, 'deviceBusy', 503, 'retry'],
    [2, 'serviceUnavailable', 200, 'retry'],
    [3, 'deviceError', 500, 'limited_retry'],
    [6, 'employeeNoAlreadyExist', 400, 'converge'],
    [4, 'deviceUserAlreadyExist', 400, 'converge'],
    [6, 'employeeNoNotExist', 400, 'converge'],
    [6, 'deviceUserAlreadyExistFace', 400, 'converge'],
    [6, 'cardNoAlreadyExist', 400, 'permanent'],
    [6, 'deviceUserFull', 400, 'permanent'],
    [4, 'notSupport', 403, 'unsupported'],
    [4, 'methodNotAllowed', 200, 'unsupported'],
    [4, 'lowPrivilege', 403, 'operator'],
    [4, 'notActivated', 403, 'operator'],
  ] as const)('statusCode %i %s (HTTP %i) → %s', (statusCode, sub, http, expected) => {
    expect(classifyIsapiFailure(http, status(statusCode, sub)).errorClass).toBe(expected);
  });

  it('gives permanent kinds for bad data, conflict, capacity and photo', () => {
    expect(classifyIsapiFailure(400, status(6, 'badJsonContent', 'beginTime and endTime'))).toEqual({ errorClass: 'permanent', permanentKind: 'bad_data' });
    expect(classifyIsapiFailure(400, status(6, 'alreadyExistThisFace')).permanentKind).toBe('conflict');
    expect(classifyIsapiFailure(400, status(6, 'deployExceedMax')).permanentKind).toBe('capacity');
    expect(classifyIsapiFailure(400, status(6, 'pictureFaceDetectZero')).permanentKind).toBe('photo');
  });

  it('flags the misleading badJsonFormat "faceURL" as an oversize photo', () => {
    expect(classifyIsapiFailure(400, status(5, 'badJsonFormat', 'faceURL'))).toEqual({ errorClass: 'permanent', permanentKind: 'photo' });
    expect(classifyIsapiFailure(400, status(5, 'badJsonFormat', 'UserInfo'))).toEqual({ errorClass: 'permanent', permanentKind: 'bad_data' });
    const error = IsapiError.fromResponse('face.setup', 400, { statusCode: 5, statusString: 'Invalid Format', subStatusCode: 'badJsonFormat', errorMsg: 'faceURL' });
    expect(error.permanentKind).toBe('photo');
    expect(error.message).toMatch(/larger than the device accepts/);
  });

  it('matches subStatusCodes regardless of case', () => {
    expect(classifyIsapiFailure(400, status(6, 'messageParametersLack')).errorClass).toBe('permanent');
    expect(classifyIsapiFailure(400, status(6, 'EMPLOYEENOALREADYEXIST')).errorClass).toBe('converge');
  });

  it('falls back to the statusCode family for unknown subStatusCodes', () => {
    expect(classifyIsapiFailure(200, status(2, 'somethingNew')).errorClass).toBe('retry');
    expect(classifyIsapiFailure(200, status(3, 'somethingNew')).errorClass).toBe('limited_retry');
    expect(classifyIsapiFailure(400, status(6, 'somethingNew'))).toEqual({ errorClass: 'permanent', permanentKind: 'bad_data' });
    expect(classifyIsapiFailure(400, status(4, 'somethingNew'))).toEqual({ errorClass: 'permanent', permanentKind: 'unknown' });
  });

  it.each([
    [503, 'retry'],
    [429, 'retry'],
    [404, 'unsupported'],
    [405, 'unsupported'],
    [501, 'unsupported'],
    [403, 'operator'],
    [401, 'auth'],
    [500, 'limited_retry'],
    [400, 'permanent'],
  ] as const)('HTTP %i without a body → %s', (http, expected) => {
    expect(classifyIsapiFailure(http).errorClass).toBe(expected);
  });
});

describe('IsapiError', () => {
  it('describes subStatusCode and errorMsg, and carries the fields', () => {
    const error = IsapiError.fromResponse('user.record', 400, {
      statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'employeeNoAlreadyExist', errorCode: 1610637344, errorMsg: 'checkUser',
    });
    expect(error).toMatchObject({ errorClass: 'converge', httpStatus: 400, statusCode: 6, subStatusCode: 'employeeNoAlreadyExist', errorCode: 1610637344, errorMsg: 'checkUser', outcomeUnknown: false });
    expect(error.describe()).toBe('user.record: converge HTTP 400 statusCode 6 (Invalid Content) subStatusCode employeeNoAlreadyExist errorMsg "checkUser"');
  });
});

describe('response bodies', () => {
  it('reads JSON and XML ResponseStatus alike', () => {
    const json = parseResponseBody('{"statusCode":1,"statusString":"OK","subStatusCode":"ok"}').body;
    expect(extractResponseStatus(json)).toEqual({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok' });
    const xml = parseResponseBody(
      '<?xml version="1.0"?><ResponseStatus version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><requestURL>/x</requestURL><statusCode>6</statusCode><statusString>Invalid XML Content</statusString><subStatusCode>badXmlContent</subStatusCode></ResponseStatus>',
    ).body;
    expect(extractResponseStatus(xml)).toEqual({ statusCode: 6, statusString: 'Invalid XML Content', subStatusCode: 'badXmlContent' });
  });

  it('refuses XML with a DOCTYPE', () => {
    expect(() => parseResponseBody('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')).toThrow();
  });

  it('reads both lock variants', () => {
    const userCheck = parseResponseBody('<userCheck><statusValue>401</statusValue><statusString>Unauthorized</statusString><lockStatus>lock</lockStatus><unlockTime>598</unlockTime><retryLoginTime>0</retryLoginTime></userCheck>').body;
    expect(extractLock(userCheck)).toEqual({ locked: true, unlockInSeconds: 598, retriesLeft: 0 });
    const responseStatus = parseResponseBody('<ResponseStatus><statusCode>4</statusCode><lockStatus>unlock</lockStatus><retryTimes>3</retryTimes><resLockTime>0</resLockTime></ResponseStatus>').body;
    expect(extractLock(responseStatus)).toEqual({ locked: false, unlockInSeconds: 0, retriesLeft: 3 });
    expect(extractLock(parseResponseBody('<userCheck><statusValue>401</statusValue></userCheck>').body)).toBeUndefined();
  });
});
