import { configureEventPush, IsapiError, readDeviceInfo, searchUsers } from '../../../libs/isapi/index.js';
import type { JobContext } from '../../../libs/jobs/queues.js';
import type { DesiredState } from '../../../libs/provisioning/desired-state.js';
import type { ProvisioningJobs } from '../../../libs/provisioning/provisioning-jobs.js';
import type { RunDeviceJob } from '../device-job-runner.js';

export interface DeviceHandlerDeps {
  desired: DesiredState;
  jobs: ProvisioningJobs;
  runDeviceJob: RunDeviceJob;
}

export function createDeviceHandlers({ desired, jobs, runDeviceJob }: DeviceHandlerDeps) {
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
          const result = await configureEventPush(client, { url: device.eventPushUrl, ownedSlotId: device.eventSlotId, format: 'JSON' });
          await desired.recordEventPushConfigured(device.id, result.slotId);
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
            const faceDrift = (person.faceSha256 !== null) !== user.numOfFace > 0;
            if (faceDrift && person.faceSha256) faceMissing.push(person.employeeNo);
            if (user.name !== person.name || user.numOfCard !== person.cards.length || faceDrift) toUpsert.add(person.employeeNo);
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
