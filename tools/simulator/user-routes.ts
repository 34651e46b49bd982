import { fail } from './error-tuples.js';
import { jsonOk, jsonReply } from './responses.js';
import { MAX_SEARCH_RESULTS, readSearchCond, SEARCH_COND_CAPABILITY, searchReply } from './paged-search.js';
import { jsonCapabilitiesRoute, SUPPORTED_FUNCTIONS, type RequestContext, type Route } from './routing.js';
import type { TerminalStore } from './store.js';
import { checkEmployeeNo, checkValidity, listValues, parseJsonBody, requireList, requireObject } from './validation.js';

/** /ISAPI/AccessControl/UserInfo/* and the asynchronous UserInfoDetail delete. */

const MAX_NAME_LENGTH = 32;

function readUserInfo(request: RequestContext) {
  const userInfo = requireObject(parseJsonBody(request), 'UserInfo');
  const employeeNo = checkEmployeeNo(userInfo.employeeNo);
  if (userInfo.name !== undefined && (typeof userInfo.name !== 'string' || [...userInfo.name].length > MAX_NAME_LENGTH)) throw fail('badJsonContent', 'name');
  checkValidity(userInfo.Valid);
  return { ...userInfo, employeeNo };
}

/**
 * The detail delete is asynchronous on devices: the first DeleteProcess poll after a delete says
 * `processing`, later polls `success` once `processingMs` have passed. The deletion itself is
 * applied at once, so a search during `processing` already misses the people.
 */
class DetailDeleteProcess {
  private doneAt = 0;
  private polledSinceStart = true;

  constructor(
    private readonly processingMs: number,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.doneAt = this.now() + this.processingMs;
    this.polledSinceStart = false;
  }

  poll(): 'processing' | 'success' {
    const firstPoll = !this.polledSinceStart;
    this.polledSinceStart = true;
    return firstPoll || this.now() < this.doneAt ? 'processing' : 'success';
  }
}

export function userRoutes(store: TerminalStore, options: { deleteProcessingMs: number; now?: () => number }): Route[] {
  const base = '/ISAPI/AccessControl/UserInfo';
  const detailDelete = new DetailDeleteProcess(options.deleteProcessingMs, options.now ?? Date.now);

  const deleteUsers = (employeeNos: string[]): number => employeeNos.filter((employeeNo) => store.removeUser(employeeNo)).length;

  return [
    jsonCapabilitiesRoute(base, () => ({
      UserInfo: {
        supportFunction: SUPPORTED_FUNCTIONS,
        maxRecordNum: store.capacity.users,
        employeeNo: { '@min': 1, '@max': 32 },
        name: { '@min': 1, '@max': MAX_NAME_LENGTH },
        userType: { '@opt': 'normal,visitor,blackList' },
        Valid: { timeType: { '@opt': 'local' }, beginTime: { '@min': 19, '@max': 32 }, endTime: { '@min': 19, '@max': 32 } },
        UserInfoSearchCond: { ...SEARCH_COND_CAPABILITY, EmployeeNoList: { maxSize: MAX_SEARCH_RESULTS } },
        UserInfoDelCond: { EmployeeNoList: { maxSize: 1000 } },
      },
    })),
    {
      method: 'POST',
      path: `${base}/Record`,
      family: 'json',
      handle: (request) => {
        const user = readUserInfo(request);
        if (store.users.has(user.employeeNo)) throw fail('employeeNoAlreadyExist');
        if (store.users.size >= store.capacity.users) throw fail('deviceUserFull');
        store.users.set(user.employeeNo, user);
        return jsonOk();
      },
    },
    {
      method: 'PUT',
      path: `${base}/Modify`,
      family: 'json',
      handle: (request) => {
        const user = readUserInfo(request);
        const existing = store.users.get(user.employeeNo);
        if (!existing) throw fail('employeeNoNotExist', 'employeeNo');
        // Partial updates are accepted: fields not sent keep their value.
        store.users.set(user.employeeNo, { ...existing, ...user });
        return jsonOk();
      },
    },
    {
      method: 'PUT',
      path: `${base}/SetUp`,
      family: 'json',
      handle: (request) => {
        const user = readUserInfo(request);
        if (!store.users.has(user.employeeNo) && store.users.size >= store.capacity.users) throw fail('deviceUserFull');
        store.users.set(user.employeeNo, user);
        return jsonOk();
      },
    },
    {
      method: 'PUT',
      path: `${base}/Delete`,
      family: 'json',
      handle: (request) => {
        const cond = requireObject(parseJsonBody(request), 'UserInfoDelCond');
        // Never "delete all": a missing or empty list is refused.
        const employeeNos = requireList(cond.EmployeeNoList, 'employeeNo', 'EmployeeNoList');
        if (deleteUsers(employeeNos) === 0) throw fail('employeeNoNotExist', 'employeeNo');
        return jsonOk();
      },
    },
    {
      method: 'POST',
      path: `${base}/Search`,
      family: 'json',
      handle: (request) => {
        const { cond, window } = readSearchCond(request, 'UserInfoSearchCond');
        const filter = listValues(cond.EmployeeNoList, 'employeeNo', 'EmployeeNoList');
        const users = [...store.users.values()].filter((user) => !filter?.length || filter.includes(user.employeeNo));
        return searchReply('UserInfoSearch', 'UserInfo', window, users, (user) => store.userRow(user));
      },
    },
    {
      method: 'GET',
      path: `${base}/Count`,
      family: 'json',
      handle: () => {
        const users = [...store.users.values()];
        return jsonReply({
          UserInfoCount: {
            userNumber: users.length,
            bindFaceUserNumber: users.filter((user) => store.faces.has(user.employeeNo)).length,
            bindCardUserNumber: users.filter((user) => store.cardsOf(user.employeeNo).length > 0).length,
            bindFingerprintUserNumber: 0,
            bindRemoteControlNumber: 0,
          },
        });
      },
    },
    {
      method: 'PUT',
      path: '/ISAPI/AccessControl/UserInfoDetail/Delete',
      family: 'json',
      handle: (request) => {
        const detail = requireObject(parseJsonBody(request), 'UserInfoDetail');
        if (detail.mode === 'all') {
          store.wipe();
        } else if (detail.mode === 'byEmployeeNo') {
          deleteUsers(requireList(detail.EmployeeNoList, 'employeeNo', 'EmployeeNoList'));
        } else {
          throw fail('badJsonContent', 'mode');
        }
        detailDelete.start();
        return jsonOk();
      },
    },
    {
      method: 'GET',
      path: '/ISAPI/AccessControl/UserInfoDetail/DeleteProcess',
      family: 'json',
      handle: () => jsonReply({ UserInfoDetailDeleteProcess: { status: detailDelete.poll() } }),
    },
  ];
}
