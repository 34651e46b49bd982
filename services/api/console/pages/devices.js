import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { useInterval, useLoad } from '../lib/hooks.js';
import { html } from '../lib/html.js';
import { formatDateTime, formatRelative } from '../lib/time.js';
import { Page } from '../components/layout.js';
import { DeviceCard } from '../components/device-card.js';
import { AddDeviceForm } from '../components/device-forms.js';
import { Empty, ErrorNotice, Loading } from '../components/states.js';

/** Status changes by itself: quickly while something is in progress, now and then otherwise. */
const BUSY_POLL_MS = 3000;
const IDLE_POLL_MS = 15_000;

const busy = (device) => device.status === 'pending' || ['waiting', 'active'].some((key) => (device.jobCounts?.[key] ?? 0) > 0);

/** Devices that post events (the archive's view), managed or not. */
function ObservedDevices() {
  const observed = useLoad(() => api.get('/api/v1/observed-devices'), []);
  const items = observed.data?.items ?? [];
  return html`<section class="section">
    <h2>Devices sending events</h2>
    <p class="muted">Every device that has posted to hikhub's ingest, as seen in its events.</p>
    <${ErrorNotice} title="Could not load devices sending events" error=${observed.error} onRetry=${observed.reload} />
    ${observed.loading && !observed.data && html`<${Loading} />`}
    ${observed.data && items.length === 0 && html`<${Empty} title="No device has sent an event yet.">Use <strong>Configure event push</strong> on a managed device, or set the device's HTTP listening host to this server.<//>`}
    ${items.length > 0 &&
    html`<div class="card card-flush"><table class="table observed-table">
      <thead><tr><th>Device</th><th class="hide-narrow">Model · serial</th><th>Address</th><th>Last event</th><th class="hide-narrow">Last heartbeat</th><th class="num">Events</th></tr></thead>
      <tbody>${items.map(
        (device) => html`<tr>
          <td class="strong">${device.name ?? device.macAddress ?? device.ipAddress ?? device.remoteAddress}</td>
          <td class="hide-narrow">${device.model ?? '—'}<div class="muted small">${device.serialNumber ?? ''}</div></td>
          <td>${device.ipAddress ?? device.remoteAddress}<div class="muted small">${device.macAddress ?? ''}</div></td>
          <td title=${formatDateTime(device.lastEventAt)}>${formatRelative(device.lastEventAt)}</td>
          <td class="hide-narrow" title=${formatDateTime(device.lastHeartbeatAt)}>${formatRelative(device.lastHeartbeatAt)}</td>
          <td class="num">${device.eventCount}</td>
        </tr>`,
      )}</tbody>
    </table></div>`}
  </section>`;
}

export function DevicesPage() {
  const devices = useLoad(() => api.get('/api/v1/devices'), []);
  const [adding, setAdding] = useState(false);
  const list = devices.data?.devices ?? [];
  useInterval(() => devices.reload(), list.some(busy) ? BUSY_POLL_MS : IDLE_POLL_MS, devices.error === null);

  return html`<${Page}
    title="Devices"
    subtitle="Terminals hikhub manages: reachability, identity, and the provisioning work queued for each."
    actions=${!adding && html`<button type="button" class="button button-primary" onClick=${() => setAdding(true)}>Add device</button>`}
  >
    ${adding && html`<${AddDeviceForm} onAdded=${() => (setAdding(false), devices.reload())} onCancel=${() => setAdding(false)} />`}
    <${ErrorNotice} title="Could not load devices" error=${devices.error} onRetry=${devices.reload} />
    ${devices.loading && !devices.data && html`<${Loading} label="Loading devices…" />`}
    ${devices.data && list.length === 0 && !adding && html`<${Empty} title="No managed devices yet.">Add a face terminal or door controller with its address and an admin login; hikhub reads its model and firmware, then provisions people onto it.<//>`}
    <div class="device-list">${list.map((device) => html`<${DeviceCard} key=${device.id} device=${device} onChanged=${devices.reload} />`)}</div>
    <${ObservedDevices} />
  <//>`;
}
