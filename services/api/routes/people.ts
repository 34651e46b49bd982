import type { Router } from 'express';
import { API_PREFIX, type ApiContext } from '../context.js';
import { jsonBody } from '../body.js';
import { badRequest, notFound } from '../errors.js';
import { createPersonSchema, employeeNoParam, listPeopleQuerySchema, parse, updatePersonSchema } from '../validation.js';

/** People and their cards. A change fans out as one job per device the person is assigned to. */
export function registerPeopleRoutes(router: Router, { desired, jobs }: ApiContext): void {
  const base = `${API_PREFIX}/people`;

  router.post(base, jsonBody(), async (req, res) => {
    const input = parse(createPersonSchema, req.body);
    const person = await desired.createPerson(input);
    res.status(201).location(`${base}/${person.employeeNo}`).json(person);
  });

  router.get(base, async (req, res) => {
    const { after, limit, include } = parse(listPeopleQuerySchema, req.query, 'query');
    // One extra row tells whether another page exists.
    const page = await desired.listPeople({ after, limit: limit + 1 });
    const people = page.slice(0, limit);
    const nextAfter = page.length > limit ? (people.at(-1)?.employeeNo ?? null) : null;
    if (include !== 'devices') return void res.json({ people, nextAfter });
    const devices = await desired.assignmentsOfPeople(people.map((person) => person.employeeNo));
    res.json({ people: people.map((person) => ({ ...person, devices: devices.get(person.employeeNo) ?? [] })), nextAfter });
  });

  router.get(`${base}/:employeeNo`, async (req, res) => {
    const employeeNo = employeeNoParam(req.params.employeeNo);
    const person = await desired.getPerson(employeeNo);
    if (!person) throw notFound(`person ${employeeNo} not found`);
    res.json({ ...person, devices: await desired.assignmentsOfPerson(employeeNo) });
  });

  router.patch(`${base}/:employeeNo`, jsonBody(), async (req, res) => {
    const employeeNo = employeeNoParam(req.params.employeeNo);
    const patch = parse(updatePersonSchema, req.body);
    const current = await desired.getPerson(employeeNo);
    if (!current) throw notFound(`person ${employeeNo} not found`);
    const validFrom = patch.validFrom !== undefined ? patch.validFrom : current.validFrom;
    const validTo = patch.validTo !== undefined ? patch.validTo : current.validTo;
    if (validFrom && validTo && validTo <= validFrom) {
      throw badRequest('invalid body: validTo: must be after validFrom', { issues: [{ path: 'validTo', message: `must be after validFrom (${validFrom.toISOString()})` }] });
    }
    const updated = await desired.updatePerson(employeeNo, patch);
    if (!updated) throw notFound(`person ${employeeNo} not found`);
    const subjects = updated.deviceIds.map((deviceId) => ({ deviceId, employeeNo }));
    // person.upsert rewrites the user and its current cards; a card taken away must be deleted on its own.
    const upserts = await jobs.enqueueMany('person.upsert', subjects);
    const cardDeletes = await jobs.enqueueMany(
      'card.delete',
      updated.deviceIds.flatMap((deviceId) => updated.removedCards.map((cardNo) => ({ deviceId, cardNo }))),
    );
    res.json({ ...updated.person, jobs: upserts.length + cardDeletes.length });
  });

  router.delete(`${base}/:employeeNo`, async (req, res) => {
    const employeeNo = employeeNoParam(req.params.employeeNo);
    // deletePerson lists the devices before the assignments go with the person.
    const deleted = await desired.deletePerson(employeeNo);
    if (!deleted) throw notFound(`person ${employeeNo} not found`);
    const removals = await jobs.enqueueMany('person.delete', deleted.deviceIds.map((deviceId) => ({ deviceId, employeeNo })));
    res.json({ employeeNo, jobs: removals.length });
  });
}
