import { deleteCard, deleteUser, findUser, IsapiError, searchCards, upsertCard, upsertUser, type IsapiClient } from '../../../libs/isapi/index.js';
import type { JobContext } from '../../../libs/jobs/queues.js';
import type { DesiredState, PersonView } from '../../../libs/provisioning/desired-state.js';
import type { RunDeviceJob } from '../device-job-runner.js';
import { syncFace } from './faces.js';

export interface PeopleHandlerDeps {
  desired: DesiredState;
  runDeviceJob: RunDeviceJob;
  deviceTimeZone: string | undefined;
}

/**
 * Make the device's copy of one person match the desired state: the user record
 * (Record → Modify / SetUp fallbacks, so a retry after a lost answer converges instead of
 * duplicating), then the person's cards (search, add missing, remove extra), then the face.
 */
export async function syncPerson(
  client: IsapiClient,
  desired: DesiredState,
  person: PersonView,
  syncedFace: string | null,
  options: { timeZone: string | undefined; retry: boolean; doors: number[] },
) {
  // A retry may follow a write whose answer was lost: look before writing again.
  const existsOnDevice = options.retry ? (await findUser(client, person.employeeNo)) !== null : false;
  const user = await upsertUser(
    client,
    { employeeNo: person.employeeNo, name: person.name, userType: person.userType, validFrom: person.validFrom, validTo: person.validTo, doorRight: options.doors.join(',') },
    { existsOnDevice, ...(options.timeZone ? { timeZone: options.timeZone } : {}) },
  );
  const onDevice = new Set((await searchCards(client, person.employeeNo)).map((card) => card.cardNo));
  const wanted = new Set(person.cards);
  const added = person.cards.filter((cardNo) => !onDevice.has(cardNo));
  const removed = [...onDevice].filter((cardNo) => !wanted.has(cardNo));
  for (const cardNo of added) await recordCardMovingIt(client, person.employeeNo, cardNo);
  for (const cardNo of removed) await deleteCard(client, cardNo);
  const face = await syncFace(client, desired, person, syncedFace);
  return { user: user.via, cards: { added: added.length, removed: removed.length }, face: face.outcome, faceSha256: face.faceSha256 };
}

/**
 * Record a card the desired state gives to this person. If the device still has it on someone
 * else (the card was moved and the old owner's copy not yet removed), hikhub's desired state is
 * the authority: take it off the other person, then record it here.
 */
async function recordCardMovingIt(client: IsapiClient, employeeNo: string, cardNo: string): Promise<void> {
  try {
    await upsertCard(client, { employeeNo, cardNo });
  } catch (error) {
    if (!(error instanceof IsapiError && error.permanentKind === 'conflict' && error.subStatusCode === 'cardNoAlreadyExist')) throw error;
    await deleteCard(client, cardNo);
    await upsertCard(client, { employeeNo, cardNo });
  }
}

export function createPeopleHandlers({ desired, runDeviceJob, deviceTimeZone }: PeopleHandlerDeps) {
  return {
    'person.upsert': async (payload: { deviceId: string; employeeNo: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'person.upsert',
        deviceId: payload.deviceId,
        context,
        run: async (client, device) => {
          const current = await desired.personOnDevice(payload.deviceId, payload.employeeNo);
          if (!current) return { skipped: 'person no longer assigned to this device' };
          const { faceSha256, ...result } = await syncPerson(client, desired, current.person, current.syncedFace, { timeZone: deviceTimeZone, retry: context.attempt > 1, doors: device.doors });
          await desired.markAssignment(payload.deviceId, payload.employeeNo, { state: 'synced', jobId: context.jobId, faceSha256 });
          return result;
        },
      }),

    'person.delete': async (payload: { deviceId: string; employeeNo: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'person.delete',
        deviceId: payload.deviceId,
        context,
        run: async (client) => {
          // Re-assigned since the job was queued: person.upsert owns it now.
          if (await desired.assignment(payload.deviceId, payload.employeeNo)) return { skipped: 'person is assigned to this device again' };
          // Deleting the user removes their cards and face on the device too.
          return deleteUser(client, payload.employeeNo);
        },
      }),

    'card.upsert': async (payload: { deviceId: string; employeeNo: string; cardNo: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'card.upsert',
        deviceId: payload.deviceId,
        context,
        run: async (client) => {
          const owner = await desired.cardOwner(payload.cardNo);
          if (owner !== payload.employeeNo || !(await desired.assignment(payload.deviceId, payload.employeeNo))) return { skipped: 'card no longer wanted on this device for this person' };
          await recordCardMovingIt(client, payload.employeeNo, payload.cardNo);
          return { cardNo: payload.cardNo };
        },
      }),

    'card.delete': async (payload: { deviceId: string; cardNo: string }, context: JobContext) =>
      runDeviceJob({
        operation: 'card.delete',
        deviceId: payload.deviceId,
        context,
        run: async (client) => {
          const owner = await desired.cardOwner(payload.cardNo);
          if (owner && (await desired.assignment(payload.deviceId, owner))) return { skipped: 'card is wanted on this device again' };
          return deleteCard(client, payload.cardNo);
        },
      }),
  };
}
