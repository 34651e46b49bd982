import type { AssignmentView, DesiredState } from '../../libs/provisioning/desired-state.js';
import { MissingReferenceError } from '../../libs/provisioning/desired-state.js';

const toAssignment = (row: { device_id: string; employee_no: string; state: AssignmentView['state']; last_error: string | null; last_job_id: string | null; synced_at: Date | null; face_sha256_synced: string | null }): AssignmentView => ({
  deviceId: row.device_id,
  employeeNo: row.employee_no,
  state: row.state,
  lastError: row.last_error,
  lastJobId: row.last_job_id,
  syncedAt: row.synced_at,
  faceSynced: row.face_sha256_synced !== null,
});

/** The per-device assignments of many people in one query (GET /people?include=devices), grouped by person. */
export async function assignmentsOfPeople(desired: DesiredState, employeeNos: string[]): Promise<Map<string, AssignmentView[]>> {
  const grouped = new Map<string, AssignmentView[]>(employeeNos.map((no) => [no, []]));
  if (!employeeNos.length) return grouped;
  const rows = await desired.db.selectFrom('device_people').selectAll().where('employee_no', 'in', employeeNos).orderBy('employee_no').orderBy('device_id').execute();
  for (const row of rows) grouped.get(row.employee_no)?.push(toAssignment(row));
  return grouped;
}

export async function assignmentsOfPerson(desired: DesiredState, employeeNo: string): Promise<AssignmentView[]> {
  return (await assignmentsOfPeople(desired, [employeeNo])).get(employeeNo) ?? [];
}

/**
 * Makes `deviceIds` the exact set of devices the person is assigned to (the person-side mirror
 * of PUT /devices/{id}/people). Returns null when the person does not exist; unknown devices
 * are refused as a whole (MissingReferenceError), nothing changes.
 */
export async function setPersonDevices(desired: DesiredState, employeeNo: string, deviceIds: string[]): Promise<{ added: string[]; removed: string[] } | null> {
  const wanted = [...new Set(deviceIds)];
  return desired.db.transaction().execute(async (trx) => {
    const person = await trx.selectFrom('people').select('employee_no').where('employee_no', '=', employeeNo).forNoKeyUpdate().executeTakeFirst();
    if (!person) return null;
    if (wanted.length) {
      // Key-share locks keep these devices from being deleted meanwhile; neither lock here waits
      // on setDevicePeople's order (device FOR UPDATE, then the people rows' key-share): no deadlock.
      const known = new Set((await trx.selectFrom('managed_devices').select('id').where('id', 'in', wanted).forKeyShare().execute()).map((row) => row.id));
      const unknown = wanted.filter((id) => !known.has(id));
      if (unknown.length) throw new MissingReferenceError(`unknown device: ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ` (+${unknown.length - 20} more)` : ''}`);
    }
    const current = new Set((await trx.selectFrom('device_people').select('device_id').where('employee_no', '=', employeeNo).execute()).map((row) => row.device_id));
    const wantedSet = new Set(wanted);
    const added = wanted.filter((id) => !current.has(id));
    const removed = [...current].filter((id) => !wantedSet.has(id));
    if (removed.length) await trx.deleteFrom('device_people').where('employee_no', '=', employeeNo).where('device_id', 'in', removed).execute();
    if (added.length) await trx.insertInto('device_people').values(added.map((deviceId) => ({ device_id: deviceId, employee_no: employeeNo }))).execute();
    return { added, removed };
  });
}
