import { html } from '../lib/html.js';

/** Coloured badges: green good, amber in progress, red needs someone, grey neutral. */

export const Badge = ({ tone = 'neutral', title, children }) => html`<span class=${`badge badge-${tone}`} title=${title}>${children}</span>`;

const DENIED = /fail|not |invalid|expired|timed out|exceeded|denied|blocklist|outside|illegal|exception|abnormal|tamper|forced|duress|no right/i;
const GRANTED = /verified|legal|pass|granted|authorised|authorized/i;

export function verifyTone(result) {
  if (!result) return 'neutral';
  if (DENIED.test(result)) return 'bad';
  if (GRANTED.test(result)) return 'good';
  return 'neutral';
}

export const VerifyBadge = ({ result }) => (result ? html`<${Badge} tone=${verifyTone(result)}>${result}<//>` : null);

const DEVICE_STATUS = {
  online: ['good', 'online'],
  pending: ['warn', 'checking…'],
  unreachable: ['bad', 'unreachable'],
  auth_failed: ['bad', 'wrong credentials'],
  error: ['bad', 'error'],
};

export function DeviceStatusBadge({ status, title }) {
  const [tone, label] = DEVICE_STATUS[status] ?? ['neutral', status ?? 'unknown'];
  return html`<${Badge} tone=${tone} title=${title}>${label}<//>`;
}

const ASSIGNMENT = { synced: 'good', pending: 'warn', failed: 'bad' };

/** One person on one device: synced / pending / failed, with the last error as the tooltip. */
export function AssignmentBadge({ assignment, deviceName }) {
  const tone = ASSIGNMENT[assignment.state] ?? 'neutral';
  const face = assignment.state === 'synced' && assignment.faceSynced === false ? ' (no face yet)' : '';
  const title = assignment.lastError ? `${assignment.state}: ${assignment.lastError}` : `${assignment.state}${face}`;
  return html`<span class=${`badge badge-${tone} badge-device`} title=${title} data-state=${assignment.state}>
    <span class="dot" aria-hidden="true"></span>${deviceName}<span class="visually-hidden">: ${assignment.state}</span>
  </span>`;
}

const JOB_TONE = { failed: 'bad', active: 'warn', waiting: 'warn', delayed: 'warn', prioritized: 'warn', completed: 'good' };
export const JobStateBadge = ({ state }) => html`<${Badge} tone=${JOB_TONE[state] ?? 'neutral'}>${state}<//>`;
