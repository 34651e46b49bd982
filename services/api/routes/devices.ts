import type { Router } from 'express';
import { API_PREFIX, type ApiContext } from '../context.js';
import { jsonBody } from '../body.js';
import { notFound } from '../errors.js';
import { createDeviceSchema, deviceIdParam, parse, updateDeviceSchema } from '../validation.js';

/** Managed devices: where they are and how to log in. Passwords go in and never come out. */
export function registerDeviceRoutes(router: Router, { desired, jobs, edgeCredentials }: ApiContext): void {
  const base = `${API_PREFIX}/devices`;

  router.post(base, jsonBody(), async (req, res) => {
    const input = parse(createDeviceSchema, req.body);
    const device = await desired.createDevice(input);
    // The first contact: serial, model and firmware, and whether the credentials work.
    await jobs.enqueue('device.read-info', { deviceId: device.id });
    res.status(201).location(`${base}/${device.id}`).json(device);
  });

  router.get(base, async (_req, res) => {
    const devices = await desired.listDevices();
    const counts = await jobs.countsByDevice(devices.map((device) => device.id));
    res.json({ devices: devices.map((device) => ({ ...device, jobCounts: counts.get(device.id) ?? { waiting: 0, active: 0, delayed: 0, failed: 0 } })) });
  });

  router.get(`${base}/:id`, async (req, res) => {
    const id = deviceIdParam(req.params.id);
    const device = await desired.getDevice(id);
    if (!device) throw notFound(`device ${id} not found`);
    res.json(device);
  });

  router.patch(`${base}/:id`, jsonBody(), async (req, res) => {
    const id = deviceIdParam(req.params.id);
    const patch = parse(updateDeviceSchema, req.body);
    const updated = await desired.updateDevice(id, patch);
    if (!updated) throw notFound(`device ${id} not found`);
    if (updated.credentialsChanged) {
      // Jobs parked in backoff behind the old (failing) credentials run now, and read-info tells us if the new ones work.
      await jobs.resumeDevice(id);
      await jobs.enqueue('device.read-info', { deviceId: id });
    }
    if (patch.doors !== undefined) {
      // Every person on the device gets the new door rights.
      const assigned = await desired.assignmentsOfDevice(id);
      await jobs.enqueueMany('person.upsert', assigned.map((assignment) => ({ deviceId: id, employeeNo: assignment.employeeNo })));
    }
    res.json(updated.device);
  });

  router.delete(`${base}/:id`, async (req, res) => {
    const id = deviceIdParam(req.params.id);
    if (!(await desired.getDevice(id))) throw notFound(`device ${id} not found`);
    // A device hikhub no longer manages keeps no credential at the ingest edge: revoke first, so a
    // failure here leaves the device in place for a retry rather than credentials nobody knows of.
    const credentials = await desired.eventPushCredentials(id);
    await edgeCredentials.revoke({ token: credentials.token, digestUsername: credentials.digestUsername });
    await edgeCredentials.revoke({ token: credentials.configuredToken, digestUsername: credentials.configuredDigestUsername });
    if (!(await desired.deleteDevice(id))) throw notFound(`device ${id} not found`);
    res.status(204).end();
  });

  router.get(`${base}/:id/people`, async (req, res) => {
    const id = deviceIdParam(req.params.id);
    if (!(await desired.getDevice(id))) throw notFound(`device ${id} not found`);
    res.json({ assignments: await desired.assignmentsOfDevice(id) });
  });

  for (const action of ['read-info', 'reconcile'] as const) {
    router.post(`${base}/:id/${action}`, async (req, res) => {
      const id = deviceIdParam(req.params.id);
      if (!(await desired.getDevice(id))) throw notFound(`device ${id} not found`);
      const { jobId } = await jobs.enqueue(`device.${action}`, { deviceId: id });
      res.status(202).json({ jobId });
    });
  }
}
