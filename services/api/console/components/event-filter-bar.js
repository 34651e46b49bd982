import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';

/**
 * Filters of the live feed. Selects and dates apply at once; text fields after a short pause
 * (or Enter), so typing a name does not reload the feed on every key.
 */
export function EventFilterBar({ filters, devices, eventTypes, onChange }) {
  const [text, setText] = useState({ employeeNo: filters.employeeNo, name: filters.name, plate: filters.plate });

  useEffect(() => setText({ employeeNo: filters.employeeNo, name: filters.name, plate: filters.plate }), [filters.employeeNo, filters.name, filters.plate]);

  useEffect(() => {
    if (text.employeeNo === filters.employeeNo && text.name === filters.name && text.plate === filters.plate) return undefined;
    const timer = setTimeout(() => onChange({ ...filters, ...text }), 400);
    return () => clearTimeout(timer);
  }, [text]);

  const set = (key) => (event) => onChange({ ...filters, ...text, [key]: event.currentTarget.value });
  const typed = (key) => (event) => setText({ ...text, [key]: event.currentTarget.value });
  const submit = (event) => {
    event.preventDefault();
    onChange({ ...filters, ...text });
  };

  return html`<form class="filters" onSubmit=${submit} aria-label="Filter events">
    <label class="field field-compact"><span>From</span><input type="datetime-local" name="from" value=${filters.from} onChange=${set('from')} /></label>
    <label class="field field-compact"><span>To</span><input type="datetime-local" name="to" value=${filters.to} onChange=${set('to')} /></label>
    <label class="field field-compact"><span>Device</span>
      <select name="deviceId" value=${filters.deviceId} onChange=${set('deviceId')}>
        <option value="">All devices</option>
        ${devices.map((device) => html`<option value=${String(device.id)}>${device.name ?? device.model ?? device.ipAddress ?? device.remoteAddress}</option>`)}
      </select>
    </label>
    <label class="field field-compact"><span>Event type</span>
      <select name="eventType" value=${filters.eventType} onChange=${set('eventType')}>
        <option value="">All types</option>
        ${eventTypes.map((type) => html`<option value=${type.eventType}>${type.eventType} (${type.eventFamily})</option>`)}
      </select>
    </label>
    <label class="field field-compact"><span>Employee no</span><input type="search" name="employeeNo" value=${text.employeeNo} onInput=${typed('employeeNo')} /></label>
    <label class="field field-compact"><span>Name</span><input type="search" name="name" value=${text.name} onInput=${typed('name')} /></label>
    <label class="field field-compact"><span>Plate</span><input type="search" name="plate" value=${text.plate} onInput=${typed('plate')} /></label>
    <label class="field field-compact"><span>Picture</span>
      <select name="hasPicture" value=${filters.hasPicture} onChange=${set('hasPicture')}>
        <option value="">Any</option>
        <option value="true">With picture</option>
        <option value="false">Without</option>
      </select>
    </label>
    <button type="submit" hidden>Apply</button>
  </form>`;
}
