import { describe, expect, it } from 'vitest';
import type { DeviceUser } from '../../libs/isapi/index.js';
import type { PersonView } from '../../libs/provisioning/desired-state.js';
import { userDrift } from '../../services/provisioner/handlers/device.js';

const person = (overrides: Partial<PersonView> = {}): PersonView => ({
  employeeNo: '10023',
  name: 'Jane Doe',
  userType: 'normal',
  validFrom: new Date('2026-01-01T08:00:00Z'),
  validTo: new Date('2026-12-31T17:00:00Z'),
  cards: ['0004211'],
  faceSha256: 'ab'.repeat(32),
  faceUpdatedAt: null,
  createdAt: new Date(),
  updatedAt: new Date(),
  ...overrides,
});

const user = (overrides: Partial<DeviceUser> = {}): DeviceUser => ({
  employeeNo: '10023',
  name: 'Jane Doe',
  userType: 'normal',
  validFrom: '2026-01-01T09:00:00',
  validTo: '2026-12-31T18:00:00',
  numOfCard: 1,
  numOfFace: 1,
  ...overrides,
});

describe('reconcile: what differs between desired person and device user', () => {
  it('finds nothing when the device holds what hikhub wrote (validity in the device zone)', () => {
    expect(userDrift(person(), user(), 'Europe/Paris')).toEqual([]);
    // Some firmware reads times back with an offset appended.
    expect(userDrift(person(), user({ validFrom: '2026-01-01T09:00:00+01:00', validTo: '2026-12-31T18:00:00+01:00' }), 'Europe/Paris')).toEqual([]);
  });

  it('names each drift', () => {
    expect(userDrift(person(), user({ name: 'J. Doe' }), 'Europe/Paris')).toEqual(['name']);
    expect(userDrift(person(), user({ userType: 'visitor' }), 'Europe/Paris')).toEqual(['userType']);
    expect(userDrift(person(), user({ validTo: '2037-12-31T23:59:59' }), 'Europe/Paris')).toEqual(['validity']);
    expect(userDrift(person(), user({ numOfCard: 0 }), 'Europe/Paris')).toEqual(['cards']);
    expect(userDrift(person(), user({ numOfFace: 0 }), 'Europe/Paris')).toEqual(['face']);
    expect(userDrift(person({ faceSha256: null }), user(), 'Europe/Paris')).toEqual(['face']);
  });

  it('does not compare validity for people valid for ever (devices read that range back variously)', () => {
    expect(userDrift(person({ validFrom: null, validTo: null }), user({ validFrom: '1970-01-01T00:00:00' }), undefined)).toEqual([]);
  });
});
