import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, request } from '../lib/api.js';
import { useInterval, useLoad } from '../lib/hooks.js';
import { html } from '../lib/html.js';
import { Link, navigate } from '../lib/router.js';
import { faceUrl, USER_TYPES } from '../lib/people.js';
import { isoToLocalInput, localInputToIso } from '../lib/time.js';
import { Page } from '../components/layout.js';
import { AssignmentBadge, DeviceStatusBadge } from '../components/badges.js';
import { Thumb } from '../components/face.js';
import { ErrorNotice, Loading } from '../components/states.js';

const MAX_FACE_BYTES = 204_800;
const POLL_MS = 2500;

const parseCards = (text) => [...new Set(text.split(/[\s,;]+/).map((card) => card.trim()).filter(Boolean))];

function formFromPerson(person) {
  return {
    employeeNo: person?.employeeNo ?? '',
    name: person?.name ?? '',
    userType: person?.userType ?? 'normal',
    validFrom: isoToLocalInput(person?.validFrom),
    validTo: isoToLocalInput(person?.validTo),
    cards: (person?.cards ?? []).join(', '),
    deviceIds: new Set((person?.devices ?? []).map((assignment) => assignment.deviceId)),
  };
}

/** What the person record should become (the API's field names). */
function personFields(form) {
  return {
    name: form.name.trim(),
    userType: form.userType,
    validFrom: localInputToIso(form.validFrom) || null,
    validTo: localInputToIso(form.validTo) || null,
    cards: parseCards(form.cards),
  };
}

function changedFields(before, after) {
  const changed = {};
  for (const [key, value] of Object.entries(after)) {
    const old = key === 'validFrom' || key === 'validTo' ? before[key] && new Date(before[key]).toISOString() : before[key];
    if (JSON.stringify(old ?? null) !== JSON.stringify(value)) changed[key] = value;
  }
  return changed;
}

function FacePicker({ person, file, onFile }) {
  const [preview, setPreview] = useState(null);
  useEffect(() => {
    if (!file) return setPreview(null);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);
  const current = person ? faceUrl(person) : null;
  return html`<div class="face-picker">
    <${Thumb} size="lg" src=${preview ?? current} name=${person?.name} label="no face photo" />
    <div>
      <label class="field">
        <span>Face photo</span>
        <input type="file" name="face" accept="image/jpeg,.jpg,.jpeg" onChange=${(event) => onFile(event.currentTarget.files?.[0] ?? null)} />
      </label>
      <p class="hint">A JPEG of the face, at most 200 KiB (terminals refuse larger ones). ${file && file.size > MAX_FACE_BYTES && html`<strong class="error-text">This file is ${Math.round(file.size / 1024)} KiB: the upload will be refused.</strong>`}</p>
    </div>
  </div>`;
}

function DeviceChoices({ devices, selected, assignments, onToggle }) {
  if (devices.length === 0) {
    return html`<p class="muted">No managed devices yet. <${Link} href="/devices">Add a device<//> to assign people to it.</p>`;
  }
  const byDevice = new Map(assignments.map((assignment) => [assignment.deviceId, assignment]));
  return html`<ul class="choices">
    ${devices.map((device) => {
      const assignment = byDevice.get(device.id);
      return html`<li class="choice">
        <label>
          <input type="checkbox" name="deviceIds" value=${device.id} checked=${selected.has(device.id)} onChange=${() => onToggle(device.id)} />
          <span class="strong">${device.name}</span> <span class="muted small">${device.host}:${device.port}</span>
        </label>
        <span class="choice-state">
          ${assignment ? html`<${AssignmentBadge} assignment=${assignment} deviceName=${assignment.state} />` : html`<${DeviceStatusBadge} status=${device.status} />`}
        </span>
        ${assignment?.lastError && html`<div class="error-text small choice-error">${assignment.lastError}</div>`}
      </li>`;
    })}
  </ul>`;
}

/** Add a person, or change one: details, face photo, and the devices they belong on. */
export function PersonPage({ employeeNo }) {
  const editing = employeeNo !== undefined;
  const person = useLoad(() => (editing ? api.get(`/api/v1/people/${enc(employeeNo)}`) : Promise.resolve(null)), [employeeNo]);
  const devices = useLoad(() => api.get('/api/v1/devices'), []);
  const [form, setForm] = useState(() => formFromPerson(null));
  const [file, setFile] = useState(null);
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState(null);

  // Set when a new person was stored but a later step failed: the form keeps what was typed and ticked.
  const keepInput = useRef(false);
  useEffect(() => {
    if (person.data === undefined) return;
    if (keepInput.current) keepInput.current = false;
    else setForm(formFromPerson(person.data));
  }, [person.data?.employeeNo, person.data?.updatedAt]);

  const assignments = person.data?.devices ?? [];
  useInterval(
    async () => {
      try {
        const fresh = await api.get(`/api/v1/people/${enc(employeeNo)}`);
        person.setData((current) => (current ? { ...current, devices: fresh.devices } : current));
      } catch {
        // Shown on the next successful poll or reload.
      }
    },
    POLL_MS,
    editing && assignments.some((assignment) => assignment.state === 'pending'),
  );

  const set = (key) => (event) => setForm({ ...form, [key]: event.currentTarget.value });
  const toggleDevice = (id) => {
    const deviceIds = new Set(form.deviceIds);
    if (deviceIds.has(id)) deviceIds.delete(id);
    else deviceIds.add(id);
    setForm({ ...form, deviceIds });
  };

  const save = async (event) => {
    event.preventDefault();
    setSaving(true);
    setFailure(null);
    const number = editing ? employeeNo : form.employeeNo.trim();
    let step = editing ? 'Could not save the changes' : 'Could not add the person';
    try {
      const fields = personFields(form);
      if (!editing) {
        await api.post('/api/v1/people', { employeeNo: number, ...fields });
      } else {
        const changed = changedFields(person.data, fields);
        if (Object.keys(changed).length > 0) await api.patch(`/api/v1/people/${enc(number)}`, changed);
      }
      if (file) {
        step = 'The person is saved, but the face photo was refused';
        await request('PUT', `/api/v1/people/${enc(number)}/face`, { body: file, contentType: 'image/jpeg' });
        setFile(null);
      }
      const before = [...(person.data?.devices ?? []).map((assignment) => assignment.deviceId)].sort().join();
      const after = [...form.deviceIds].sort();
      if (after.join() !== before) {
        step = 'The person is saved, but the device assignment failed';
        await api.put(`/api/v1/people/${enc(number)}/devices`, { deviceIds: after });
      }
      navigate('/people');
    } catch (error) {
      setFailure({ title: step, error });
      // Created already: carry on editing the stored person rather than creating it twice.
      if (!editing && step !== 'Could not add the person') {
        keepInput.current = true;
        navigate(`/people/${number}`, { replace: true });
      }
      else if (editing) void person.reload();
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    if (!window.confirm(`Delete ${person.data.name} (#${employeeNo})? They are removed from every device too.`)) return;
    try {
      await api.delete(`/api/v1/people/${enc(employeeNo)}`);
      navigate('/people');
    } catch (error) {
      setFailure({ title: 'Could not delete the person', error });
    }
  };

  const removeFace = async () => {
    try {
      await api.delete(`/api/v1/people/${enc(employeeNo)}/face`);
      await person.reload();
    } catch (error) {
      setFailure({ title: 'Could not remove the face photo', error });
    }
  };

  // Until the person of this URL is loaded (also right after "add" turned into "edit").
  const loaded = !editing || person.data?.employeeNo === employeeNo;
  if (!loaded && !person.error) return html`<${Page} title="Person"><${Loading} /><//>`;
  if (!loaded) {
    return html`<${Page} title="Person" actions=${html`<${Link} class="button" href="/people">← People<//>`}>
      <${ErrorNotice} title=${person.error.status === 404 ? 'No such person' : 'Could not load the person'} error=${person.error} onRetry=${person.error.status === 404 ? null : person.reload} />
    <//>`;
  }

  return html`<${Page}
    title=${editing ? person.data.name : 'Add person'}
    subtitle=${editing ? `Employee #${employeeNo}` : 'Details, a face photo, and the terminals this person may open.'}
    actions=${html`<${Link} class="button" href="/people">← People<//>`}
  >
    <form class="card form" onSubmit=${save} aria-label=${editing ? 'Edit person' : 'Add person'}>
      ${failure && html`<${ErrorNotice} title=${failure.title} error=${failure.error} />`}
      <div class="form-grid">
        <label class="field"><span>Employee no</span>
          <input name="employeeNo" required pattern="[A-Za-z0-9]{1,32}" maxlength="32" readOnly=${editing} value=${editing ? employeeNo : form.employeeNo} onInput=${set('employeeNo')} />
          <small class="hint">Letters and digits, up to 32; the terminal's user id.</small>
        </label>
        <label class="field"><span>Name</span><input name="name" required maxlength="128" value=${form.name} onInput=${set('name')} /></label>
        <label class="field"><span>Type</span>
          <select name="userType" value=${form.userType} onChange=${set('userType')}>
            ${Object.entries(USER_TYPES).map(([value, label]) => html`<option value=${value}>${label}</option>`)}
          </select>
        </label>
        <label class="field"><span>Cards</span><input name="cards" value=${form.cards} onInput=${set('cards')} placeholder="e.g. 0004412345, 0004412346" /><small class="hint">Card numbers, separated by commas or spaces.</small></label>
        <label class="field"><span>Valid from</span><input type="datetime-local" name="validFrom" value=${form.validFrom} onInput=${set('validFrom')} /></label>
        <label class="field"><span>Valid to</span><input type="datetime-local" name="validTo" value=${form.validTo} onInput=${set('validTo')} /><small class="hint">Both empty: always valid.</small></label>
      </div>
      <h2>Face</h2>
      <${FacePicker} person=${person.data} file=${file} onFile=${setFile} />
      ${editing && person.data.faceSha256 && !file && html`<button type="button" class="link-button small" onClick=${removeFace}>Remove the face photo</button>`}
      <h2>Devices</h2>
      ${devices.error ? html`<${ErrorNotice} title="Could not load devices" error=${devices.error} onRetry=${devices.reload} />` : devices.loading && !devices.data ? html`<${Loading} />` : html`<${DeviceChoices} devices=${devices.data.devices} selected=${form.deviceIds} assignments=${assignments} onToggle=${toggleDevice} />`}
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled=${saving}>${saving ? 'Saving…' : editing ? 'Save changes' : 'Add person'}</button>
        <${Link} class="button button-quiet" href="/people">Cancel<//>
        ${editing && html`<button type="button" class="button button-danger push-right" onClick=${remove}>Delete person</button>`}
      </div>
    </form>
  <//>`;
}
