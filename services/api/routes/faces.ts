import type { Router } from 'express';
import { API_PREFIX, type ApiContext } from '../context.js';
import { jpegBody } from '../body.js';
import { notFound } from '../errors.js';
import { employeeNoParam } from '../validation.js';

/** One face photo per person, stored once by content hash and pushed to every device the person is on. */
export function registerFaceRoutes(router: Router, { desired, jobs }: ApiContext): void {
  const path = `${API_PREFIX}/people/:employeeNo/face`;

  router.put(path, jpegBody, async (req, res) => {
    const employeeNo = employeeNoParam(req.params.employeeNo);
    const jpeg = req.body as Buffer;
    const stored = await desired.setFace(employeeNo, jpeg);
    if (!stored) throw notFound(`person ${employeeNo} not found`);
    const upserts = await jobs.enqueueMany('face.upsert', stored.deviceIds.map((deviceId) => ({ deviceId, employeeNo })));
    res.json({ employeeNo, faceSha256: stored.sha256, bytes: jpeg.length, jobs: upserts.length });
  });

  router.get(path, async (req, res) => {
    const employeeNo = employeeNoParam(req.params.employeeNo);
    const person = await desired.getPerson(employeeNo);
    if (!person) throw notFound(`person ${employeeNo} not found`);
    const jpeg = person.faceSha256 ? await desired.faceImage(person.faceSha256) : null;
    if (!jpeg) throw notFound(`person ${employeeNo} has no face photo`);
    res.status(200).type('image/jpeg').set('etag', `"${person.faceSha256}"`).send(jpeg);
  });

  router.delete(path, async (req, res) => {
    const employeeNo = employeeNoParam(req.params.employeeNo);
    const removed = await desired.removeFace(employeeNo);
    if (!removed) throw notFound(`person ${employeeNo} not found`);
    const deletes = await jobs.enqueueMany('face.delete', removed.deviceIds.map((deviceId) => ({ deviceId, employeeNo })));
    res.json({ employeeNo, jobs: deletes.length });
  });
}
