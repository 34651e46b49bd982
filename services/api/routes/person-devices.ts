import type { Router } from 'express';
import { MissingReferenceError, type DesiredState } from '../../../libs/provisioning/desired-state.js';
import { API_PREFIX, type ApiContext } from '../context.js';
import { jsonBody } from '../body.js';
import { badRequest, notFound } from '../errors.js';
import { employeeNoParam, parse, personDevicesSchema } from '../validation.js';

/**
 * PUT the exact set of devices a person belongs on: the same jobs as the per-device endpoint
 * (person.upsert where added — it also pushes cards and face — person.delete where removed).
 */
export function registerPersonDeviceRoutes(router: Router, { desired, jobs }: ApiContext): void {
  router.put(`${API_PREFIX}/people/:employeeNo/devices`, jsonBody(), async (req, res) => {
    const employeeNo = employeeNoParam(req.params.employeeNo);
    const { deviceIds } = parse(personDevicesSchema, req.body);
    let change: Awaited<ReturnType<DesiredState['setPersonDevices']>>;
    try {
      change = await desired.setPersonDevices(employeeNo, deviceIds);
    } catch (error) {
      if (error instanceof MissingReferenceError) throw badRequest(error.message, { issues: [{ path: 'deviceIds', message: error.message }] });
      throw error;
    }
    if (!change) throw notFound(`person ${employeeNo} not found`);
    const upserts = await jobs.enqueueMany('person.upsert', change.added.map((deviceId) => ({ deviceId, employeeNo })));
    const deletes = await jobs.enqueueMany('person.delete', change.removed.map((deviceId) => ({ deviceId, employeeNo })));
    res.json({ employeeNo, devices: await desired.assignmentsOfPerson(employeeNo), added: change.added, removed: change.removed, jobs: upserts.length + deletes.length });
  });
}
