/**
 * The ISAPI error answers the simulator gives, keyed by subStatusCode, after the research table
 * (../shared/research/isapi-provisioning.md §5.2). Only 0x60006020 (employeeNoAlreadyExist) is
 * confirmed by a captured response; the other errorCodes are the reported or inferred values
 * (high nibble = statusCode). Clients must classify on statusCode + subStatusCode, so tests
 * reference these tuples instead of repeating numbers.
 */

export interface IsapiErrorTuple {
  httpStatus: number;
  statusCode: number;
  statusString: string;
  subStatusCode: string;
  errorCode?: number;
  /** Default errorMsg; handlers usually name the offending field instead. */
  errorMsg?: string;
}

const busy = (subStatusCode: string, errorCode?: number): IsapiErrorTuple => ({ httpStatus: 503, statusCode: 2, statusString: 'Device Busy', subStatusCode, errorCode });
const deviceError = (subStatusCode: string, errorCode?: number): IsapiErrorTuple => ({ httpStatus: 500, statusCode: 3, statusString: 'Device Error', subStatusCode, errorCode });
const invalidOperation = (subStatusCode: string, httpStatus: number, errorCode?: number): IsapiErrorTuple => ({ httpStatus, statusCode: 4, statusString: 'Invalid Operation', subStatusCode, errorCode });
const invalidFormat = (subStatusCode: string, errorCode?: number): IsapiErrorTuple => ({ httpStatus: 400, statusCode: 5, statusString: 'Invalid Format', subStatusCode, errorCode });
const invalidContent = (subStatusCode: string, errorCode?: number): IsapiErrorTuple => ({ httpStatus: 400, statusCode: 6, statusString: 'Invalid Content', subStatusCode, errorCode });

export const ERROR_TUPLES = {
  deviceBusy: busy('deviceBusy', 0x20000004),
  serviceUnavailable: busy('serviceUnavailable'),
  upgrading: busy('upgrading'),
  noMemory: busy('noMemory'),
  deviceError: deviceError('deviceError', 0x30000001),

  notSupport: invalidOperation('notSupport', 404, 0x40000001),
  methodNotAllowed: invalidOperation('methodNotAllowed', 405, 0x40000002),
  invalidOperation: invalidOperation('invalidOperation', 403, 0x40000003),
  lowPrivilege: invalidOperation('lowPrivilege', 403, 0x40000009),
  notActivated: invalidOperation('notActivated', 403),
  deployExceedMax: invalidOperation('deployExceedMax', 400, 0x40000006),

  badJsonFormat: invalidFormat('badJsonFormat', 0x50000002),
  badXmlFormat: invalidFormat('badXmlFormat', 0x50000001),
  badURLFormat: invalidFormat('badURLFormat', 0x50000003),

  badParameters: invalidContent('badParameters', 0x60000001),
  badXmlContent: invalidContent('badXmlContent', 0x60000016),
  badJsonContent: invalidContent('badJsonContent', 0x60000017),
  MessageParametersLack: invalidContent('MessageParametersLack', 0x60000019),
  illegalEmployeeNo: invalidContent('illegalEmployeeNo', 0x60006011),
  illegalCardNo: invalidContent('illegalCardNo', 0x60006012),
  endtimeEarlierThanBegintime: invalidContent('endtimeEarlierThanBegintime', 0x60006023),
  beyondTimeRangeLimit: invalidContent('beyondTimeRangeLimit'),
  employeeNoAlreadyExist: { ...invalidContent('employeeNoAlreadyExist', 1610637344), errorMsg: 'checkUser' },
  deviceUserAlreadyExist: invalidContent('deviceUserAlreadyExist'),
  employeeNoNotExist: invalidContent('employeeNoNotExist', 0x6000601f),
  deviceUserNotExist: invalidContent('deviceUserNotExist'),
  cardNoAlreadyExist: invalidContent('cardNoAlreadyExist', 0x60006033),
  cardNoNotExist: invalidContent('cardNoNotExist'),
  deviceUserFull: invalidContent('deviceUserFull'),
  deviceCardFull: invalidContent('deviceCardFull'),
  cardFullPerUser: invalidContent('cardFullPerUser'),
  deviceFaceFull: invalidContent('deviceFaceFull'),
  deviceUserAlreadyExistFace: invalidContent('deviceUserAlreadyExistFace'),
  alreadyExistThisFace: invalidContent('alreadyExistThisFace'),
  deleteNoExistFace: invalidContent('deleteNoExistFace'),
  pictureFaceDetectZero: invalidContent('pictureFaceDetectZero', 0x6000604c),
  picFormatError: invalidContent('picFormatError'),
  SubpicAnalysisModelingError: invalidContent('SubpicAnalysisModelingError'),
  faceLowQulity: invalidContent('faceLowQulity'),
  multipleFaceObjectError: invalidContent('multipleFaceObjectError'),
  rebootRequired: { httpStatus: 200, statusCode: 7, statusString: 'Reboot Required', subStatusCode: 'rebootRequired' },
} as const satisfies Record<string, IsapiErrorTuple>;

export type KnownSubStatusCode = keyof typeof ERROR_TUPLES;

export function isKnownSubStatusCode(value: string): value is KnownSubStatusCode {
  return Object.hasOwn(ERROR_TUPLES, value);
}

/** Raised by request handlers; the dispatcher renders it as JSON or XML depending on the endpoint. */
export class IsapiFailure extends Error {
  constructor(
    readonly tuple: IsapiErrorTuple,
    readonly errorMsg?: string,
  ) {
    super(`${tuple.subStatusCode}${errorMsg ? ` (${errorMsg})` : ''}`);
  }
}

export const fail = (subStatusCode: KnownSubStatusCode, errorMsg?: string): IsapiFailure => new IsapiFailure(ERROR_TUPLES[subStatusCode], errorMsg);
