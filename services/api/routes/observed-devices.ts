import type { Router } from 'express';
import { API_PREFIX, type ApiContext } from '../context.js';
import { distinctEventTypes, observedDevices } from '../archive/archive-catalog.js';

/** What the archive has seen: devices that posted events (the console's device filter) and the event types present. */
export function registerObservedDeviceRoutes(router: Router, { archive }: ApiContext): void {
  router.get(`${API_PREFIX}/observed-devices`, async (_req, res) => {
    res.json({ items: await observedDevices(archive) });
  });

  router.get(`${API_PREFIX}/event-types`, async (_req, res) => {
    res.json({ items: await distinctEventTypes(archive) });
  });
}
