import { useState } from 'preact/hooks';
import { api, enc } from '../lib/api.js';
import { html } from '../lib/html.js';
import { ErrorNotice } from './states.js';

/** A form that posts once, shows the API's refusal as it is, and reports success upwards. */
function useSubmit(action, onDone) {
  const [state, setState] = useState({ busy: false, error: null });
  const submit = async (event) => {
    event.preventDefault();
    setState({ busy: true, error: null });
    try {
      const result = await action();
      setState({ busy: false, error: null });
      onDone(result);
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return [state, submit];
}

export function AddDeviceForm({ onAdded, onCancel }) {
  const [form, setForm] = useState({ name: '', host: '', port: '80', scheme: 'http', username: 'admin', password: '' });
  const set = (key) => (event) => setForm({ ...form, [key]: event.currentTarget.value });
  const [state, submit] = useSubmit(() => api.post('/api/v1/devices', { ...form, name: form.name.trim(), host: form.host.trim(), port: Number(form.port) }), onAdded);
  return html`<form class="card form" onSubmit=${submit} aria-label="Add device">
    <h2>Add a device</h2>
    <p class="muted">hikhub logs in over ISAPI (HTTP Digest) to read its model and firmware, then keeps its people in sync.</p>
    <${ErrorNotice} title="The device was not added" error=${state.error} />
    <div class="form-grid">
      <label class="field"><span>Name</span><input name="name" required maxlength="128" value=${form.name} onInput=${set('name')} placeholder="Main entrance" /></label>
      <label class="field"><span>Host</span><input name="host" required value=${form.host} onInput=${set('host')} placeholder="192.168.1.64" /></label>
      <label class="field"><span>Port</span><input name="port" type="number" min="1" max="65535" required value=${form.port} onInput=${set('port')} /></label>
      <label class="field"><span>Scheme</span><select name="scheme" value=${form.scheme} onChange=${set('scheme')}><option value="http">http</option><option value="https">https</option></select></label>
      <label class="field"><span>Username</span><input name="username" required autocomplete="off" value=${form.username} onInput=${set('username')} /></label>
      <label class="field"><span>Password</span><input name="password" type="password" required autocomplete="new-password" value=${form.password} onInput=${set('password')} /><small class="hint">Stored encrypted; never shown again.</small></label>
    </div>
    <${FormActions} busy=${state.busy} busyLabel="Adding…" label="Add device" onCancel=${onCancel} />
  </form>`;
}

/** The fix for auth_failed: new credentials (and a changed address, if it moved). */
export function EditDeviceForm({ device, onSaved, onCancel }) {
  const [form, setForm] = useState({ name: device.name, host: device.host, port: String(device.port), username: device.username, password: '' });
  const set = (key) => (event) => setForm({ ...form, [key]: event.currentTarget.value });
  const [state, submit] = useSubmit(() => {
    const patch = {};
    if (form.name.trim() !== device.name) patch.name = form.name.trim();
    if (form.host.trim() !== device.host) patch.host = form.host.trim();
    if (Number(form.port) !== device.port) patch.port = Number(form.port);
    if (form.username !== device.username) patch.username = form.username;
    if (form.password) patch.password = form.password;
    if (Object.keys(patch).length === 0) return Promise.resolve(device);
    return api.patch(`/api/v1/devices/${enc(device.id)}`, patch);
  }, onSaved);
  return html`<form class="inline-form" onSubmit=${submit} aria-label=${`Edit ${device.name}`}>
    <${ErrorNotice} title="Not saved" error=${state.error} />
    <div class="form-grid">
      <label class="field"><span>Name</span><input name="name" required value=${form.name} onInput=${set('name')} /></label>
      <label class="field"><span>Host</span><input name="host" required value=${form.host} onInput=${set('host')} /></label>
      <label class="field"><span>Port</span><input name="port" type="number" min="1" max="65535" required value=${form.port} onInput=${set('port')} /></label>
      <label class="field"><span>Username</span><input name="username" required autocomplete="off" value=${form.username} onInput=${set('username')} /></label>
      <label class="field"><span>New password</span><input name="password" type="password" autocomplete="new-password" value=${form.password} onInput=${set('password')} placeholder="unchanged" /></label>
    </div>
    <${FormActions} busy=${state.busy} busyLabel="Saving…" label="Save" onCancel=${onCancel} />
  </form>`;
}

/** Where the device should push its events: blank uses the server's EVENT_PUSH_BASE_URL. */
export function ConfigureEventsForm({ device, onDone, onCancel }) {
  const [url, setUrl] = useState(device.eventPushUrl ?? '');
  const [authentication, setAuthentication] = useState(device.eventPushUsername ? 'digest' : 'none');
  const [state, submit] = useSubmit(() => api.post(`/api/v1/devices/${enc(device.id)}/configure-events`, { ...(url.trim() ? { url: url.trim() } : {}), authentication }), onDone);
  const example = `http://${location.hostname}:8080/hikvision/events/{token}`;
  return html`<form class="inline-form" onSubmit=${submit} aria-label=${`Configure event push of ${device.name}`}>
    <${ErrorNotice} title="Event push not configured" error=${state.error} />
    <div class="form-grid">
      <label class="field field-wide"><span>Push URL</span><input name="url" value=${url} onInput=${(e) => setUrl(e.currentTarget.value)} placeholder=${example} />
        <small class="hint">Where the device reaches hikhub's ingest (port 8080 by default). <code>{token}</code> becomes a secret only this device knows. Leave empty to use the server's <code>EVENT_PUSH_BASE_URL</code>.</small>
      </label>
      <label class="field"><span>Authentication</span><select name="authentication" value=${authentication} onChange=${(e) => setAuthentication(e.currentTarget.value)}><option value="none">none (token in the URL)</option><option value="digest">Digest</option></select></label>
    </div>
    <${FormActions} busy=${state.busy} busyLabel="Configuring…" label="Configure event push" onCancel=${onCancel} />
  </form>`;
}

/** Submit (showing progress while busy) and cancel, the same under every device form. */
function FormActions({ busy, busyLabel, label, onCancel }) {
  return html`<div class="form-actions">
    <button type="submit" class="button button-primary" disabled=${busy}>${busy ? busyLabel : label}</button>
    <button type="button" class="button button-quiet" onClick=${onCancel}>Cancel</button>
  </div>`;
}
