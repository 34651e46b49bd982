import { buildUserInfo, configureEventPush, IsapiError, readDeviceInfo, searchUsers, type DeviceUser } from '../../../libs/isapi/index.js';
import type { EdgeCredentialStore } from '../../../libs/edge-auth/credential-store.js';
import type { JobContext } from '../../../libs/jobs/queues.js';
import type { DesiredState, PersonView } from '../../../libs/provisioning/desired-state.js';
import type { ProvisioningJobs } from '../../../libs/provisioning/provisioning-jobs.js';
import type { RunDeviceJob } from '../device-job-runner.js';

export interface DeviceHandlerDeps {
  desired: DesiredState;
  /** Push credentials at the ingest edge, revoked once the device holds newer ones. */
  edgeCredentials: EdgeCredentialStore;
  jobs: ProvisioningJobs;
  runDeviceJob: RunDeviceJob;
  deviceTimeZone: string | undefined;
}

/** What differs between the person hikhub wants and the user the device holds (empty: nothing). */
export function userDrift(person: PersonView, user: DeviceUser, timeZone: string | undefined): string[] {
  const expected = buildUserInfo({ employeeNo: person.employeeNo, name: person.name, userType: person.userType, validFrom: person.validFrom, validTo: person.validTo }, timeZone)
    .UserInfo as { userType: string; Valid: { beginTime: string; endTime: string } };
  const drift: string[] = [];
  if (user.name !== person.name) drift.push('name');
  if (user.userType !== undefined && user.userType !== expected.userType) drift.push('userType');
  // Devices read times back in their own format; the first 19 characters are YYYY-MM-DDTHH:MM:SS.
  if (person.validFrom || person.validTo) {
    if (user.validFrom?.slice(0, 19) !== expected.Valid.beginTime || user.validTo?.slice(0, 19) !== expected.Valid.endTime) drift.push('validity');
  }
  if (user.numOfCard !== person.cards.length) drift.push('cards');
  if ((person.faceSha256 !== null) !== user.numOfFace > 0) drift.push('face');
  return drift;
}

export function createDeviceHandlers({ desired, edgeCredentials, jobs, runDeviceJob, deviceTimeZone }: DeviceHandlerDeps) {
  return {
    'device.read-info': async (payload: { deviceId: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'device.read-info',
        deviceId: payload.deviceId,
        context,
        run: async (client, device) => {
          const info = await readDeviceInfo(client);
          await desired.recordDeviceInfo(device.id, info);
          return info;
        },
      }),

    'device.configure-events': async (payload: { deviceId: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'device.configure-events',
        deviceId: payload.deviceId,
        context,
        run: async (client, device) => {
          if (!device.eventPushUrl) {
            throw new IsapiError({ errorClass: 'permanent', permanentKind: 'bad_data', operation: 'device.configure-events', subStatusCode: 'noEventPushUrl', detail: 'no event push URL is set for this device' });
          }
          const result = await configureEventPush(client, {
            url: device.eventPushUrl,
            ownedSlotId: device.eventSlotId,
            format: 'JSON',
            ...(device.eventPushAuth ? { authentication: device.eventPushAuth } : {}),
          });
          // The device holds the new credentials now: the ones it had before stop working at the edge.
          const superseded = await desired.recordEventPushConfigured(device.id, result.slotId, { token: device.eventPushToken, digestUsername: device.eventPushAuth?.username ?? null });
          if (superseded) await edgeCredentials.revoke(superseded);
          return result;
        },
      }),

    /**
     * Page through the users on the device and queue the jobs that close the gap with the
     * desired set: missing or different people get person.upsert (cards and face included);
     * people hikhub did not put there are deleted when the device is exclusively managed.
     */
    'device.reconcile': async (payload: { deviceId: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'device.reconcile',
        deviceId: payload.deviceId,
        context,
        run: async (client, device) => {
          const wanted = new Map((await desired.desiredPeopleOfDevice(device.id)).map((person) => [person.employeeNo, person]));
          const toUpsert = new Set<string>();
          const faceMissing: string[] = [];
          const toDelete: string[] = [];
          let seen = 0;
          for await (const user of searchUsers(client)) {
            seen++;
            const person = wanted.get(user.employeeNo);
            if (!person) {
              toDelete.push(user.employeeNo);
              continue;
            }
            wanted.delete(user.employeeNo);
            const drift = userDrift(person, user, deviceTimeZone);
            if (drift.includes('face') && person.faceSha256) faceMissing.push(person.employeeNo);
            if (drift.length) toUpsert.add(person.employeeNo);
          }
          const missing = [...wanted.keys()];
          // The device lost these faces (or never had them): forget what we think we uploaded.
          for (const employeeNo of [...faceMissing, ...missing]) await desired.markFaceSynced(device.id, employeeNo, null);
          for (const employeeNo of missing) toUpsert.add(employeeNo);
          await jobs.enqueueMany('person.upsert', [...toUpsert].map((employeeNo) => ({ deviceId: device.id, employeeNo })));
          const deleting = device.pruneUnknownUsers ? toDelete : [];
          await jobs.enqueueMany('person.delete', deleting.map((employeeNo) => ({ deviceId: device.id, employeeNo })));
          return { usersOnDevice: seen, missing: missing.length, drifted: toUpsert.size - missing.length, unknownOnDevice: toDelete.length, deleting: deleting.length };
        },
      }),
  };
}
