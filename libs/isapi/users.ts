import type { IsapiClient } from './client.js';
import { clampValidity, formatDeviceLocalTime, VALIDITY_MAX, VALIDITY_MIN } from './device-time.js';
import { hasSubStatus, IsapiError } from './errors.js';
import { pagedSearch } from './paged-search.js';
import { asNumber, asRecord, asString } from './response-body.js';

/** People (UserInfo) on an access device. The employeeNo links cards, the face (FPID) and rights. */

export interface UserInput {
  employeeNo: string;
  name: string;
  userType?: 'normal' | 'visitor' | 'blackList';
  validFrom?: Date | null;
  validTo?: Date | null;
  /** Doors as the device lists them, e.g. "1" or "1,2". Default "1". */
  doorRight?: string;
}

export interface UpsertUserOptions {
  /** Use SetUp (create-or-replace) first; it silently adopts a person we did not create. */
  preferSetUp?: boolean;
  /** A search just found the person on the device (a retry after a lost answer): go straight to Modify. */
  existsOnDevice?: boolean;
  /** IANA zone of the device clock, for validity times. Default UTC. */
  timeZone?: string;
}

export interface DeviceUser {
  employeeNo: string;
  name: string;
  userType?: string;
  /** Device-local `YYYY-MM-DDTHH:MM:SS`, as the device reports it. */
  validFrom?: string;
  validTo?: string;
  numOfCard: number;
  numOfFace: number;
}

const RECORD = '/ISAPI/AccessControl/UserInfo/Record?format=json';
const MODIFY = '/ISAPI/AccessControl/UserInfo/Modify?format=json';
const SETUP = '/ISAPI/AccessControl/UserInfo/SetUp?format=json';
const DELETE = '/ISAPI/AccessControl/UserInfo/Delete?format=json';
const DETAIL_DELETE = '/ISAPI/AccessControl/UserInfoDetail/Delete?format=json';
const DETAIL_DELETE_PROCESS = '/ISAPI/AccessControl/UserInfoDetail/DeleteProcess?format=json';
const SEARCH = '/ISAPI/AccessControl/UserInfo/Search?format=json';

const ALREADY_EXISTS = ['employeeNoAlreadyExist', 'deviceUserAlreadyExist'];
const NOT_FOUND = ['employeeNoNotExist', 'deviceUserNotExist'];

export function buildUserInfo(user: UserInput, timeZone = 'UTC'): Record<string, unknown> {
  const hasValidity = (user.validFrom ?? null) !== null || (user.validTo ?? null) !== null;
  const doorRight = user.doorRight ?? '1';
  const doors = doorRight.split(',').map((door) => Number(door.trim())).filter((door) => Number.isInteger(door) && door > 0);
  return {
    UserInfo: {
      employeeNo: user.employeeNo,
      name: user.name,
      userType: user.userType ?? 'normal',
      // enable:false means "valid for ever", but some firmware validates the dates anyway: always send a safe range.
      Valid: {
        enable: hasValidity,
        beginTime: user.validFrom ? clampValidity(formatDeviceLocalTime(user.validFrom, timeZone)) : VALIDITY_MIN,
        endTime: user.validTo ? clampValidity(formatDeviceLocalTime(user.validTo, timeZone)) : VALIDITY_MAX,
        timeType: 'local',
      },
      doorRight,
      // Template "1" is the usual all-day plan.
      RightPlan: doors.map((doorNo) => ({ doorNo, planTemplateNo: '1' })),
    },
  };
}

/**
 * Record → (already exists) Modify → (vanished meanwhile) Record once; Record unsupported → SetUp.
 * Record is not idempotent: after a lost response, the retry sees "already exists" and converges here.
 */
export async function upsertUser(client: IsapiClient, user: UserInput, options: UpsertUserOptions = {}): Promise<{ via: 'record' | 'modify' | 'setup' }> {
  requireEmployeeNo(user.employeeNo, 'user.upsert');
  const json = buildUserInfo(user, options.timeZone);
  const setUp = async (): Promise<{ via: 'setup' }> => {
    await client.request({ operation: 'user.setup', method: 'PUT', path: SETUP, json });
    return { via: 'setup' };
  };
  const record = (): Promise<unknown> => client.request({ operation: 'user.record', method: 'POST', path: RECORD, json });

  if (options.preferSetUp) {
    try {
      return await setUp();
    } catch (error) {
      if (!(error instanceof IsapiError && error.errorClass === 'unsupported')) throw error;
    }
  }
  if (!options.existsOnDevice) {
    try {
      await record();
      return { via: 'record' };
    } catch (error) {
      if (error instanceof IsapiError && error.errorClass === 'unsupported' && !options.preferSetUp) return setUp();
      if (!hasSubStatus(error, ...ALREADY_EXISTS)) throw error;
    }
  }
  try {
    await client.request({ operation: 'user.modify', method: 'PUT', path: MODIFY, json });
    return { via: 'modify' };
  } catch (error) {
    if (error instanceof IsapiError && error.errorClass === 'unsupported' && !options.preferSetUp) return setUp();
    if (!hasSubStatus(error, ...NOT_FOUND)) throw error;
  }
  // Deleted between our Record and Modify: one more Record, then give up with whatever it says.
  await record();
  return { via: 'record' };
}

export interface DeleteUserOptions {
  pollIntervalMs?: number;
  pollTimeoutMs?: number;
}

/**
 * UserInfo/Delete for one person (not there → fine). Where unsupported, UserInfoDetail/Delete
 * byEmployeeNo and poll DeleteProcess. Never mode "all", never an empty list: both wipe the device.
 */
export async function deleteUser(client: IsapiClient, employeeNo: string, options: DeleteUserOptions = {}): Promise<{ via: 'delete' | 'detail'; existed: boolean }> {
  requireEmployeeNo(employeeNo, 'user.delete');
  try {
    await client.request({
      operation: 'user.delete',
      method: 'PUT',
      path: DELETE,
      json: { UserInfoDelCond: { EmployeeNoList: [{ employeeNo }] } },
    });
    return { via: 'delete', existed: true };
  } catch (error) {
    if (hasSubStatus(error, ...NOT_FOUND)) return { via: 'delete', existed: false };
    if (!(error instanceof IsapiError && error.errorClass === 'unsupported')) throw error;
  }
  try {
    await client.request({
      operation: 'user.detail_delete',
      method: 'PUT',
      path: DETAIL_DELETE,
      json: { UserInfoDetail: { mode: 'byEmployeeNo', EmployeeNoList: [{ employeeNo }] } },
    });
  } catch (error) {
    if (hasSubStatus(error, ...NOT_FOUND)) return { via: 'detail', existed: false };
    throw error;
  }
  await waitForDetailDelete(client, options.pollIntervalMs ?? 500, options.pollTimeoutMs ?? 20_000);
  return { via: 'detail', existed: true };
}

/** "Acknowledged" only means started: poll until success/failed, bounded. */
async function waitForDetailDelete(client: IsapiClient, intervalMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await client.request({ operation: 'user.detail_delete_process', method: 'GET', path: DETAIL_DELETE_PROCESS });
    const status = asString(asRecord(body?.['UserInfoDetailDeleteProcess'])?.['status'])?.toLowerCase();
    if (status === 'success') return;
    if (status === 'failed') {
      throw new IsapiError({ errorClass: 'limited_retry', operation: 'user.detail_delete_process', subStatusCode: 'deleteProcessFailed', detail: 'device reported the detail delete as failed' });
    }
    if (Date.now() + intervalMs > deadline) {
      throw new IsapiError({ errorClass: 'limited_retry', operation: 'user.detail_delete_process', outcomeUnknown: true, transport: 'timeout', detail: `detail delete still ${status ?? 'unknown'} after ${timeoutMs} ms` });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface SearchUsersOptions {
  /** Only these people; an empty list yields nothing (it must never turn into "everyone"). */
  employeeNos?: string[];
  pageSize?: number;
}

export async function* searchUsers(client: IsapiClient, options: SearchUsersOptions = {}): AsyncGenerator<DeviceUser> {
  const wanted = options.employeeNos === undefined ? undefined : new Set(options.employeeNos);
  if (wanted !== undefined && wanted.size === 0) return;
  const rows = pagedSearch(client, {
    operation: 'user.search',
    path: SEARCH,
    conditionRoot: 'UserInfoSearchCond',
    condition: wanted ? { EmployeeNoList: [...wanted].map((employeeNo) => ({ employeeNo })) } : {},
    resultRoot: 'UserInfoSearch',
    rowsKey: 'UserInfo',
    pageSize: options.pageSize ?? 30,
  });
  for await (const row of rows) {
    const user = toDeviceUser(row);
    // Some firmware ignores EmployeeNoList and returns everyone.
    if (user === undefined || (wanted !== undefined && !wanted.has(user.employeeNo))) continue;
    yield user;
  }
}

export async function findUser(client: IsapiClient, employeeNo: string): Promise<DeviceUser | null> {
  requireEmployeeNo(employeeNo, 'user.search');
  for await (const user of searchUsers(client, { employeeNos: [employeeNo] })) return user;
  return null;
}

function toDeviceUser(row: Record<string, unknown>): DeviceUser | undefined {
  const employeeNo = asString(row['employeeNo']);
  if (employeeNo === undefined) return undefined;
  const user: DeviceUser = {
    employeeNo,
    name: asString(row['name']) ?? '',
    numOfCard: asNumber(row['numOfCard']) ?? 0,
    numOfFace: asNumber(row['numOfFace']) ?? 0,
  };
  const userType = asString(row['userType']);
  const valid = asRecord(row['Valid']);
  const validFrom = asString(valid?.['beginTime']);
  const validTo = asString(valid?.['endTime']);
  if (userType !== undefined) user.userType = userType;
  if (validFrom !== undefined) user.validFrom = validFrom;
  if (validTo !== undefined) user.validTo = validTo;
  return user;
}

/** An empty employeeNo in a delete or search condition can mean "everyone" to some firmware. */
export function requireEmployeeNo(employeeNo: string, operation: string): void {
  if (employeeNo.trim() === '') {
    throw new IsapiError({ errorClass: 'permanent', permanentKind: 'bad_data', operation, detail: 'employeeNo is empty' });
  }
}
