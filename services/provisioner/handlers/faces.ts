import { deleteFace, upsertFace, type IsapiClient } from '../../../libs/isapi/index.js';
import type { JobContext } from '../../../libs/jobs/queues.js';
import type { DesiredState, PersonView } from '../../../libs/provisioning/desired-state.js';
import type { RunDeviceJob } from '../device-job-runner.js';

/**
 * Upload the person's face when the device does not hold this exact image yet (the assignment
 * remembers the hash last uploaded), or remove it when the person has none any more.
 */
export async function syncFace(client: IsapiClient, desired: DesiredState, deviceId: string, person: PersonView): Promise<'uploaded' | 'unchanged' | 'deleted' | 'none'> {
  const assignment = await desired.assignment(deviceId, person.employeeNo);
  const synced = assignment ? await desired.syncedFace(deviceId, person.employeeNo) : null;
  if (!person.faceSha256) {
    if (synced === null) return 'none';
    await deleteFace(client, person.employeeNo);
    await desired.markFaceSynced(deviceId, person.employeeNo, null);
    return 'deleted';
  }
  if (synced === person.faceSha256) return 'unchanged';
  const jpeg = await desired.faceImage(person.faceSha256);
  if (!jpeg) throw new Error(`face image ${person.faceSha256} of ${person.employeeNo} is missing from face_images`);
  await upsertFace(client, person.employeeNo, jpeg);
  await desired.markFaceSynced(deviceId, person.employeeNo, person.faceSha256);
  return 'uploaded';
}

export function createFaceHandlers({ desired, runDeviceJob }: { desired: DesiredState; runDeviceJob: RunDeviceJob }) {
  return {
    'face.upsert': async (payload: { deviceId: string; employeeNo: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'face.upsert',
        deviceId: payload.deviceId,
        context,
        run: async (client) => {
          const assignment = await desired.assignment(payload.deviceId, payload.employeeNo);
          const person = assignment && (await desired.getPerson(payload.employeeNo));
          if (!person) return { skipped: 'person no longer assigned to this device' };
          return { face: await syncFace(client, desired, payload.deviceId, person) };
        },
      }),

    'face.delete': async (payload: { deviceId: string; employeeNo: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'face.delete',
        deviceId: payload.deviceId,
        context,
        run: async (client) => {
          const person = await desired.getPerson(payload.employeeNo);
          if (person?.faceSha256 && (await desired.assignment(payload.deviceId, payload.employeeNo))) return { skipped: 'the person has a face again' };
          const result = await deleteFace(client, payload.employeeNo);
          await desired.markFaceSynced(payload.deviceId, payload.employeeNo, null);
          return result;
        },
      }),
  };
}
