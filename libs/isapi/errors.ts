/**
 * ISAPI failure classes (research note §5.2) and the error every ISAPI call throws.
 * Classification uses statusCode + subStatusCode strings only: errorCode values are poorly
 * documented and one fixture shows the same errorCode with two different subStatusCodes.
 */

export type IsapiErrorClass =
  /** Transient (busy, upgrading, 503/429, connect failure): back off and retry. */
  | 'retry'
  /** deviceError, timeout, reset: a few tries; after a timeout on a write, search before retrying. */
  | 'limited_retry'
  /** Idempotency signals (already exists / does not exist): the caller maps them per operation. */
  | 'converge'
  /** Bad data, conflict, capacity, photo: fail the job. */
  | 'permanent'
  /** Endpoint or method not available: try the alternate endpoint, otherwise fail. */
  | 'unsupported'
  /** Needs a human (account not admin, device not activated). */
  | 'operator'
  /** Credentials rejected or account locked: never retry automatically (lockout risk). */
  | 'auth';

export type PermanentKind = 'bad_data' | 'conflict' | 'capacity' | 'photo' | 'unknown';

export type TransportFailure = 'timeout' | 'connect_failed' | 'connection_reset' | 'unparsable_response';

export interface IsapiResponseStatus {
  statusCode: number;
  statusString: string;
  subStatusCode: string;
  errorCode?: number;
  errorMsg?: string;
}

export interface IsapiLock {
  locked: boolean;
  unlockInSeconds?: number;
  retriesLeft?: number;
}

export interface IsapiClassification {
  errorClass: IsapiErrorClass;
  permanentKind?: PermanentKind;
}

/** Every subStatusCode with a known meaning. Lookups ignore case (firmware varies it). */
export const KNOWN_SUB_STATUS_CODES: Readonly<Record<string, IsapiClassification>> = Object.freeze({
  deviceBusy: { errorClass: 'retry' },
  serviceUnavailable: { errorClass: 'retry' },
  upgrading: { errorClass: 'retry' },
  noMemory: { errorClass: 'retry' },

  deviceError: { errorClass: 'limited_retry' },

  employeeNoAlreadyExist: { errorClass: 'converge' },
  deviceUserAlreadyExist: { errorClass: 'converge' },
  employeeNoNotExist: { errorClass: 'converge' },
  deviceUserNotExist: { errorClass: 'converge' },
  cardNoNotExist: { errorClass: 'converge' },
  deleteNoExistFace: { errorClass: 'converge' },
  faceDataNotExist: { errorClass: 'converge' },
  deviceUserAlreadyExistFace: { errorClass: 'converge' },

  badJsonFormat: { errorClass: 'permanent', permanentKind: 'bad_data' },
  badXmlFormat: { errorClass: 'permanent', permanentKind: 'bad_data' },
  badURLFormat: { errorClass: 'permanent', permanentKind: 'bad_data' },
  badParameters: { errorClass: 'permanent', permanentKind: 'bad_data' },
  badJsonContent: { errorClass: 'permanent', permanentKind: 'bad_data' },
  badXmlContent: { errorClass: 'permanent', permanentKind: 'bad_data' },
  MessageParametersLack: { errorClass: 'permanent', permanentKind: 'bad_data' },
  illegalEmployeeNo: { errorClass: 'permanent', permanentKind: 'bad_data' },
  employeeNoInvalid: { errorClass: 'permanent', permanentKind: 'bad_data' },
  illegalCardNo: { errorClass: 'permanent', permanentKind: 'bad_data' },
  endtimeEarlierThanBegintime: { errorClass: 'permanent', permanentKind: 'bad_data' },
  beyondTimeRangeLimit: { errorClass: 'permanent', permanentKind: 'bad_data' },

  cardNoAlreadyExist: { errorClass: 'permanent', permanentKind: 'conflict' },
  alreadyExistThisFace: { errorClass: 'permanent', permanentKind: 'conflict' },

  deviceUserFull: { errorClass: 'permanent', permanentKind: 'capacity' },
  deviceCardFull: { errorClass: 'permanent', permanentKind: 'capacity' },
  cardFullPerUser: { errorClass: 'permanent', permanentKind: 'capacity' },
  supportOneMoreCard: { errorClass: 'permanent', permanentKind: 'capacity' },
  deviceFaceFull: { errorClass: 'permanent', permanentKind: 'capacity' },
  deployExceedMax: { errorClass: 'permanent', permanentKind: 'capacity' },

  pictureFaceDetectZero: { errorClass: 'permanent', permanentKind: 'photo' },
  multipleFaceObjectError: { errorClass: 'permanent', permanentKind: 'photo' },
  faceLowQulity: { errorClass: 'permanent', permanentKind: 'photo' },
  poorFaceQuality: { errorClass: 'permanent', permanentKind: 'photo' },
  faceResolutionOrRatioError: { errorClass: 'permanent', permanentKind: 'photo' },
  faceDataLenShort: { errorClass: 'permanent', permanentKind: 'photo' },
  picSizeExceedError: { errorClass: 'permanent', permanentKind: 'photo' },
  fileSizeExceedError: { errorClass: 'permanent', permanentKind: 'photo' },
  pupilDistanceTooSmall: { errorClass: 'permanent', permanentKind: 'photo' },
  faceScoreFailure: { errorClass: 'permanent', permanentKind: 'photo' },
  faceTypeError: { errorClass: 'permanent', permanentKind: 'photo' },
  invalidFaceRegion: { errorClass: 'permanent', permanentKind: 'photo' },
  SubpicAnalysisModelingError: { errorClass: 'permanent', permanentKind: 'photo' },
  PicAnalysisNoTargetError: { errorClass: 'permanent', permanentKind: 'photo' },
  picFormatError: { errorClass: 'permanent', permanentKind: 'photo' },
  picResolutionInvalidError: { errorClass: 'permanent', permanentKind: 'photo' },
  PicFeaturePoints: { errorClass: 'permanent', permanentKind: 'photo' },

  notSupport: { errorClass: 'unsupported' },
  methodNotAllowed: { errorClass: 'unsupported' },
  invalidOperation: { errorClass: 'unsupported' },

  lowPrivilege: { errorClass: 'operator' },
  notActivated: { errorClass: 'operator' },
});

const byLowerCase = new Map(Object.entries(KNOWN_SUB_STATUS_CODES).map(([code, value]) => [code.toLowerCase(), value]));

/** statusCode 0/1 = OK, 7 = OK but the device wants a reboot. */
export const isOkStatusCode = (statusCode: number): boolean => statusCode === 0 || statusCode === 1 || statusCode === 7;

/** True for the oversize-photo symptom: devices answer `badJsonFormat` naming `faceURL` for a JPEG over ~200 KB. */
export const isOversizePhotoSymptom = (status: Pick<IsapiResponseStatus, 'subStatusCode' | 'errorMsg'>): boolean =>
  status.subStatusCode.toLowerCase() === 'badjsonformat' && /faceurl/i.test(status.errorMsg ?? '');

/** §5.2: the subStatusCode decides when known, then the statusCode family, then the HTTP status. */
export function classifyIsapiFailure(
  httpStatus: number | undefined,
  responseStatus?: Pick<IsapiResponseStatus, 'statusCode' | 'subStatusCode' | 'errorMsg'>,
): IsapiClassification {
  if (httpStatus === 401) return { errorClass: 'auth' };
  if (responseStatus !== undefined && !isOkStatusCode(responseStatus.statusCode)) {
    if (isOversizePhotoSymptom(responseStatus)) return { errorClass: 'permanent', permanentKind: 'photo' };
    const known = byLowerCase.get(responseStatus.subStatusCode.toLowerCase());
    if (known !== undefined) return known;
    const byFamily = classifyStatusCodeFamily(responseStatus.statusCode);
    if (byFamily !== undefined) return byFamily;
  }
  return classifyHttpStatus(httpStatus);
}

function classifyStatusCodeFamily(statusCode: number): IsapiClassification | undefined {
  switch (statusCode) {
    case 2:
      return { errorClass: 'retry' };
    case 3:
      return { errorClass: 'limited_retry' };
    case 5:
    case 6:
      return { errorClass: 'permanent', permanentKind: 'bad_data' };
    // 4 (Invalid Operation) mixes notSupport, lowPrivilege and duplicates; unknown ones fail rather than guess.
    case 4:
    case 9:
      return { errorClass: 'permanent', permanentKind: 'unknown' };
    default:
      return undefined;
  }
}

function classifyHttpStatus(httpStatus: number | undefined): IsapiClassification {
  if (httpStatus === undefined) return { errorClass: 'limited_retry' };
  if (httpStatus === 429 || httpStatus === 503) return { errorClass: 'retry' };
  if (httpStatus === 404 || httpStatus === 405 || httpStatus === 501) return { errorClass: 'unsupported' };
  if (httpStatus === 403) return { errorClass: 'operator' };
  if (httpStatus >= 500) return { errorClass: 'limited_retry' };
  if (httpStatus === 400) return { errorClass: 'permanent', permanentKind: 'bad_data' };
  return { errorClass: 'permanent', permanentKind: 'unknown' };
}

export interface IsapiErrorDetails {
  errorClass: IsapiErrorClass;
  permanentKind?: PermanentKind;
  operation?: string;
  httpStatus?: number;
  statusCode?: number;
  statusString?: string;
  subStatusCode?: string;
  errorCode?: number;
  errorMsg?: string;
  /** True when the request may have reached the device and been applied (timeout or reset after sending). */
  outcomeUnknown?: boolean;
  transport?: TransportFailure;
  lock?: IsapiLock;
  /** Extra human context (never credentials). */
  detail?: string;
  cause?: unknown;
}

export class IsapiError extends Error {
  readonly errorClass: IsapiErrorClass;
  readonly permanentKind?: PermanentKind;
  readonly operation?: string;
  readonly httpStatus?: number;
  readonly statusCode?: number;
  readonly statusString?: string;
  readonly subStatusCode?: string;
  readonly errorCode?: number;
  readonly errorMsg?: string;
  readonly outcomeUnknown: boolean;
  readonly transport?: TransportFailure;
  readonly lock?: IsapiLock;
  readonly detail?: string;

  constructor(details: IsapiErrorDetails) {
    super(describeIsapiFailure(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'IsapiError';
    this.errorClass = details.errorClass;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
    // Optional fields are only set when present, so `toEqual`/logs stay free of `undefined` noise.
    const optional = ['permanentKind', 'operation', 'httpStatus', 'statusCode', 'statusString', 'subStatusCode', 'errorCode', 'errorMsg', 'transport', 'lock', 'detail'] as const;
    for (const key of optional) {
      if (details[key] !== undefined) Object.assign(this, { [key]: details[key] });
    }
  }

  /** Builds the error for a device answer that is not a success. */
  static fromResponse(operation: string, httpStatus: number, responseStatus?: IsapiResponseStatus): IsapiError {
    const classification = classifyIsapiFailure(httpStatus, responseStatus);
    return new IsapiError({
      ...classification,
      operation,
      httpStatus,
      ...(responseStatus ?? {}),
      ...(responseStatus && isOversizePhotoSymptom(responseStatus) ? { detail: 'photo probably larger than the device accepts (~200 KB)' } : {}),
    });
  }

  describe(): string {
    return this.message;
  }
}

/** One line naming the operation, class, HTTP status, statusCode, subStatusCode and errorMsg. */
export function describeIsapiFailure(details: IsapiErrorDetails): string {
  const parts: string[] = [];
  if (details.operation) parts.push(`${details.operation}:`);
  parts.push(details.permanentKind ? `${details.errorClass}/${details.permanentKind}` : details.errorClass);
  if (details.transport) parts.push(details.transport.replaceAll('_', ' '));
  if (details.httpStatus !== undefined) parts.push(`HTTP ${details.httpStatus}`);
  if (details.statusCode !== undefined) parts.push(`statusCode ${details.statusCode}${details.statusString ? ` (${details.statusString})` : ''}`);
  if (details.subStatusCode) parts.push(`subStatusCode ${details.subStatusCode}`);
  if (details.errorMsg) parts.push(`errorMsg ${JSON.stringify(details.errorMsg)}`);
  if (details.lock) {
    const lock = details.lock;
    parts.push(`account ${lock.locked ? 'locked' : 'not locked'}`);
    if (lock.unlockInSeconds !== undefined) parts.push(`unlock in ${lock.unlockInSeconds}s`);
    if (lock.retriesLeft !== undefined) parts.push(`${lock.retriesLeft} retries left`);
  }
  if (details.detail) parts.push(`— ${details.detail}`);
  return parts.join(' ');
}

export const isIsapiError = (error: unknown): error is IsapiError => error instanceof IsapiError;

/** True when `error` is an IsapiError whose subStatusCode is one of `codes` (case-insensitive). */
export function hasSubStatus(error: unknown, ...codes: string[]): error is IsapiError {
  if (!(error instanceof IsapiError) || error.subStatusCode === undefined) return false;
  const sub = error.subStatusCode.toLowerCase();
  return codes.some((code) => code.toLowerCase() === sub);
}
