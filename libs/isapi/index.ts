export { IsapiClient, type IsapiClientOptions, type IsapiRequest, type IsapiRequestSample, type IsapiResult, type IsapiTarget } from './client.js';
export {
  classifyIsapiFailure,
  describeIsapiFailure,
  hasSubStatus,
  isIsapiError,
  isOkStatusCode,
  IsapiError,
  KNOWN_SUB_STATUS_CODES,
  type IsapiClassification,
  type IsapiErrorClass,
  type IsapiErrorDetails,
  type IsapiLock,
  type IsapiResponseStatus,
  type PermanentKind,
  type TransportFailure,
} from './errors.js';
export { parseResponseBody, extractResponseStatus, extractLock } from './response-body.js';
export { VALIDITY_MAX, VALIDITY_MIN, formatDeviceLocalTime } from './device-time.js';
export {
  buildUserInfo,
  deleteUser,
  findUser,
  searchUsers,
  upsertUser,
  type DeleteUserOptions,
  type DeviceUser,
  type SearchUsersOptions,
  type UpsertUserOptions,
  type UserInput,
} from './users.js';
export { deleteCard, searchCards, upsertCard, type CardType, type DeviceCard } from './cards.js';
export {
  buildFaceMultipart,
  checkFaceJpeg,
  deleteFace,
  hasFace,
  MAX_FACE_JPEG_BYTES,
  upsertFace,
  type FaceJpegCheck,
  type FaceMultipart,
  type UpsertFaceOptions,
} from './faces.js';
export { readDeviceInfo, type DeviceInfo } from './device-info.js';
export { chooseSlot, configureEventPush, isEmptySlot, readHttpHosts, type EventPushTarget, type HttpHostSlot } from './http-hosts.js';
