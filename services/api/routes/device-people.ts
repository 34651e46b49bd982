import type { Router } from 'express';
import { MissingReferenceError } from '../../../libs/provisioning/desired-state.js';
import { API_PREFIX, type ApiContext } from '../context.js';
import { jsonBody } from '../body.js';
import { badRequest, notFound } from '../errors.js';
import { deviceIdParam, devicePeopleSchema, parse } from '../validation.js';

/**
 * PUT the exact set of people a device should hold. Only the difference becomes work: the
 * provisioner's person.upsert also pushes the person's cards and face.
 */
export function registerDevicePeopleRoutes(router: Router, { desired, jobs }: ApiContext): void {
  router.put(`${API_PREFIX}/devices/:id/people`, jsonBody(), async (req, res) => {
    const id = deviceIdParam(req.params.id);
    const { employeeNos } = parse(devicePeopleSchema, req.body);
    if (!(await desired.getDevice(id))) throw notFound(`device ${id} not found`);
    let change: { added: string[]; removed: string[]; kept: string[] };
    try {
      change = await desired.setDevicePeople(id, employeeNos);
    } catch (error) {
      if (!(error instanceof MissingReferenceError)) throw error;
      // The device may have been deleted since the check above; otherwise the people are unknown.
      if (!(await desired.getDevice(id))) throw notFound(`device ${id} not found`);
      throw badRequest(error.message);
    }
    const upserts = await jobs.enqueueMany('person.upsert', change.added.map((employeeNo) => ({ deviceId: id, employeeNo })));
    const deletes = await jobs.enqueueMany('person.delete', change.removed.map((employeeNo) => ({ deviceId: id, employeeNo })));
    res.json({ ...change, jobs: upserts.length + deletes.length });
  });
}
