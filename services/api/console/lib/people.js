import { enc } from './api.js';
import { formatDateTime } from './time.js';

/** The stored face of a person; the hash in the URL makes a new photo a new image. */
export const faceUrl = (person) => (person.faceSha256 ? `/api/v1/people/${enc(person.employeeNo)}/face?v=${person.faceSha256.slice(0, 16)}` : null);

export function validityText(person) {
  if (!person.validFrom && !person.validTo) return 'always valid';
  if (!person.validTo) return `from ${formatDateTime(person.validFrom)}`;
  if (!person.validFrom) return `until ${formatDateTime(person.validTo)}`;
  return `${formatDateTime(person.validFrom)} – ${formatDateTime(person.validTo)}`;
}

/** Valid now, not yet, or no longer. */
export function validityState(person, now = Date.now()) {
  if (person.validFrom && Date.parse(person.validFrom) > now) return 'not yet valid';
  if (person.validTo && Date.parse(person.validTo) <= now) return 'expired';
  return null;
}

export const USER_TYPES = { normal: 'Normal', visitor: 'Visitor', blackList: 'Blocklist' };
