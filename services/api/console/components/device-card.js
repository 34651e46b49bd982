import { useEffect, useState } from 'preact/hooks';
import { api, enc, queryString } from '../lib/api.js';
import { html } from '../lib/html.js';
import { formatDateTime, formatRelative } from '../lib/time.js';
import { Badge, DeviceStatusBadge, JobStateBadge } from './badges.js';
import { ConfigureEventsForm, EditDeviceForm } from './device-forms.js';
import { ErrorNotice, Loading, Success } from './states.js';

const JOB_KINDS = [
  ['waiting', 'queued', 'warn'],
  ['active', 'running', 'warn'],
  ['delayed', 'retrying later', 'warn'],
  ['failed', 'failed', 'bad'],
];

function JobCounts({ counts }) {
  if (!counts) return html`<span class="muted small">job counts unavailable</span>`;
  const shown = JOB_KINDS.filter(([key]) => counts[key] > 0);
  if (shown.length === 0) return html`<${Badge} tone="good">no pending jobs<//>`;
  return html`${shown.map(([key, label, tone]) => html`<${Badge} tone=${tone}>${counts[key]} ${label}<//>`)}`;
}

/** The device's failed jobs, each with a retry. */
function FailedJobs({ device, onChanged }) {
  const [state, setState] = useState({ jobs: null, error: null });
  const [notice, setNotice] = useState(null);
  const load = async () => {
    try {
      const answer = await api.get(`/api/v1/jobs${queryString({ device: device.id, state: 'failed', limit: 100 })}`);
      setState({ jobs: answer.jobs, error: null });
    } catch (error) {
      setState({ jobs: null, error });
    }
  };
  useEffect(() => void load(), [device.id]);
  const retry = async (job) => {
    try {
      await api.post(`/api/v1/jobs/${enc(job.id)}/retry`);
      setNotice(`${job.name} queued again.`);
      await load();
      onChanged();
    } catch (error) {
      setState((current) => ({ ...current, error }));
    }
  };
  if (state.error) return html`<${ErrorNotice} title="Could not load failed jobs" error=${state.error} onRetry=${load} />`;
  if (!state.jobs) return html`<${Loading} label="Loading failed jobs…" />`;
  return html`<div class="jobs">
    <${Success}>${notice}<//>
    ${state.jobs.length === 0
      ? html`<p class="muted small">No failed jobs.</p>`
      : html`<table class="table table-compact">
          <thead><tr><th>Job</th><th>Subject</th><th>Error</th><th>When</th><th></th></tr></thead>
          <tbody>${state.jobs.map(
            (job) => html`<tr data-job-id=${job.id}>
              <td><code>${job.name}</code> <${JobStateBadge} state=${job.state} /></td>
              <td>${job.employeeNo ? `#${job.employeeNo}` : job.cardNo ? `card ${job.cardNo}` : 'device'}</td>
              <td class="error-text">${job.lastError ?? '—'} <span class="muted small">(${job.attempts}/${job.maxAttempts} attempts)</span></td>
              <td title=${formatDateTime(job.finishedAt)}>${formatRelative(job.finishedAt)}</td>
              <td><button type="button" class="button button-small" onClick=${() => retry(job)}>Retry</button></td>
            </tr>`,
          )}</tbody>
        </table>`}
  </div>`;
}

function Fact({ label, children }) {
  return html`<div class="fact"><span class="fact-label">${label}</span><span class="fact-value">${children ?? html`<span class="muted">—</span>`}</span></div>`;
}

/** One managed device: is it reachable, what it is, what hikhub is doing on it — and the actions. */
export function DeviceCard({ device, onChanged }) {
  const [panel, setPanel] = useState(device.status === 'auth_failed' ? 'edit' : null);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const toggle = (name) => setPanel(panel === name ? null : name);
  // Refused credentials need a person: open the form with the fix as soon as it happens.
  useEffect(() => {
    if (device.status === 'auth_failed') setPanel('edit');
  }, [device.status]);

  const queue = async (action, done) => {
    setError(null);
    try {
      await api.post(`/api/v1/devices/${enc(device.id)}/${action}`);
      setNotice(done);
      onChanged();
    } catch (failure) {
      setError(failure);
    }
  };
  const remove = async () => {
    if (!window.confirm(`Stop managing ${device.name}? hikhub forgets it and its assignments; nothing is deleted on the device.`)) return;
    try {
      await api.delete(`/api/v1/devices/${enc(device.id)}`);
      onChanged();
    } catch (failure) {
      setError(failure);
    }
  };

  return html`<article class=${`card device device-${device.status}`} data-device-id=${device.id} aria-label=${device.name}>
    <header class="device-head">
      <div>
        <h2>${device.name} <${DeviceStatusBadge} status=${device.status} /></h2>
        <div class="muted small">${device.scheme}://${device.host}:${device.port} · user ${device.username}</div>
      </div>
      <div class="device-actions">
        <button type="button" class="button button-small" onClick=${() => toggle('events')}>Configure event push</button>
        <button type="button" class="button button-small" onClick=${() => queue('read-info', 'Reading model, firmware and serial…')}>Check now</button>
        <button type="button" class="button button-small" onClick=${() => queue('reconcile', 'Reconcile queued: hikhub compares the device with who should be on it.')}>Reconcile</button>
        <button type="button" class="button button-small button-quiet" onClick=${() => toggle('edit')}>Edit</button>
      </div>
    </header>
    ${device.status === 'auth_failed' &&
    html`<div class="notice notice-error" role="alert"><div><strong>The device refused hikhub's username or password.</strong>
      <p>hikhub stopped logging in so the device does not lock its address out. Update the credentials below; queued work resumes at once.</p></div></div>`}
    ${device.lastError && device.status !== 'auth_failed' && html`<p class="error-text small">Last error ${formatRelative(device.lastErrorAt)}: ${device.lastError}</p>`}
    <div class="facts">
      <${Fact} label="Last contact"><span title=${formatDateTime(device.lastContactAt)}>${formatRelative(device.lastContactAt)}</span><//>
      <${Fact} label="Model">${device.model}<//>
      <${Fact} label="Firmware">${device.firmwareVersion}<//>
      <${Fact} label="Serial">${device.serialNumber}<//>
      <${Fact} label="MAC">${device.macAddress}<//>
      <${Fact} label="Event push">${device.eventPushUrl ? html`<code class="wrap">${device.eventPushUrl}</code>${device.eventsConfiguredAt ? '' : html` <${Badge} tone="warn">being configured<//>`}` : html`<span class="muted">not configured</span>`}<//>
      <${Fact} label="Jobs"><${JobCounts} counts=${device.jobCounts} /><//>
    </div>
    <${Success}>${notice}<//>
    <${ErrorNotice} error=${error} />
    ${panel === 'edit' && html`<${EditDeviceForm} device=${device} onSaved=${() => (setPanel(null), setNotice('Saved. hikhub checks the device again now.'), onChanged())} onCancel=${() => setPanel(null)} />`}
    ${panel === 'events' && html`<${ConfigureEventsForm} device=${device} onDone=${(answer) => (setPanel(null), setNotice(`Event push queued: the device will post to ${answer.eventPushUrl}.`), onChanged())} onCancel=${() => setPanel(null)} />`}
    <footer class="device-foot">
      ${(device.jobCounts?.failed ?? 0) > 0 && html`<button type="button" class="link-button" onClick=${() => toggle('failed')}>${panel === 'failed' ? 'Hide failed jobs' : `Show ${device.jobCounts.failed} failed job${device.jobCounts.failed === 1 ? '' : 's'}`}</button>`}
      <button type="button" class="link-button danger push-right" onClick=${remove}>Stop managing</button>
    </footer>
    ${panel === 'failed' && html`<${FailedJobs} device=${device} onChanged=${onChanged} />`}
  </article>`;
}
