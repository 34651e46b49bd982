import { deleteFace, upsertFace, type IsapiClient } from '../../../libs/isapi/index.js';
import type { JobContext } from '../../../libs/jobs/queues.js';
import type { DesiredState, PersonView } from '../../../libs/provisioning/desired-state.js';
import type { RunDeviceJob } from '../device-job-runner.js';

/**
 * Upload the person's face when the device does not hold this exact image yet (the assignment
 * remembers the hash last uploaded), or remove it when the person has none any more.
 */
export async function syncFace(
  client: IsapiClient,
  desired: DesiredState,
  person: PersonView,
  synced: string | null,
): Promise<{ outcome: 'uploaded' | 'unchanged' | 'deleted' | 'none'; faceSha256: string | null }> {
  if (!person.faceSha256) {
    if (synced === null) return { outcome: 'none', faceSha256: null };
    await deleteFace(client, person.employeeNo);
    return { outcome: 'deleted', faceSha256: null };
  }
  if (synced === person.faceSha256) return { outcome: 'unchanged', faceSha256: synced };
  const jpeg = await desired.faceImage(person.faceSha256);
  if (!jpeg) throw new Error(`face image ${person.faceSha256} of ${person.employeeNo} is missing from face_images`);
  await upsertFace(client, person.employeeNo, jpeg);
  return { outcome: 'uploaded', faceSha256: person.faceSha256 };
}

export function createFaceHandlers({ desired, runDeviceJob }: { desired: DesiredState; runDeviceJob: RunDeviceJob }) {
  return {
    'face.upsert': async (payload: { deviceId: string; employeeNo: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'face.upsert',
        deviceId: payload.deviceId,
        context,
        run: async (client) => {
          const current = await desired.personOnDevice(payload.deviceId, payload.employeeNo);
          if (!current) return { skipped: 'person no longer assigned to this device' };
          const face = await syncFace(client, desired, current.person, current.syncedFace);
          await desired.markFaceSynced(payload.deviceId, payload.employeeNo, face.faceSha256);
          return { face: face.outcome };
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
