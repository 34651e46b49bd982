import { useState } from 'preact/hooks';
import { api, queryString } from '../lib/api.js';
import { useInterval, useLoad } from '../lib/hooks.js';
import { html } from '../lib/html.js';
import { Link, navigate } from '../lib/router.js';
import { faceUrl, USER_TYPES, validityState, validityText } from '../lib/people.js';
import { Page } from '../components/layout.js';
import { AssignmentBadge, Badge } from '../components/badges.js';
import { Thumb } from '../components/face.js';
import { Empty, ErrorNotice, Loading } from '../components/states.js';

const PAGE_SIZE = 100;
const POLL_MS = 2500;

async function loadPeople(after) {
  return api.get(`/api/v1/people${queryString({ include: 'devices', limit: PAGE_SIZE, after })}`);
}

function PersonRow({ person, deviceNames }) {
  const problem = validityState(person);
  const failed = (person.devices ?? []).filter((assignment) => assignment.state === 'failed' && assignment.lastError);
  return html`<tr class="person-row" data-employee-no=${person.employeeNo} onClick=${(event) => event.target.closest('a') || navigate(`/people/${person.employeeNo}`)}>
    <td class="cell-thumb"><${Thumb} src=${faceUrl(person)} name=${person.name} label="no face photo" /></td>
    <td>
      <${Link} href=${`/people/${person.employeeNo}`} class="strong">${person.name}<//>
      <div class="muted small">#${person.employeeNo}${person.userType !== 'normal' ? ` · ${USER_TYPES[person.userType] ?? person.userType}` : ''}</div>
    </td>
    <td class="hide-narrow">${person.cards.length === 0 ? html`<span class="muted">no card</span>` : person.cards.map((card) => html`<code class="chip">${card}</code>`)}</td>
    <td class="hide-narrow">${validityText(person)} ${problem && html`<${Badge} tone="warn">${problem}<//>`}</td>
    <td>
      <div class="badges">
        ${(person.devices ?? []).length === 0
          ? html`<span class="muted small">not on any device</span>`
          : person.devices.map((assignment) => html`<${AssignmentBadge} key=${assignment.deviceId} assignment=${assignment} deviceName=${deviceNames.get(assignment.deviceId) ?? 'device'} />`)}
      </div>
      ${failed.map((assignment) => html`<div class="error-text small">${deviceNames.get(assignment.deviceId) ?? 'device'}: ${assignment.lastError}</div>`)}
    </td>
  </tr>`;
}

/** Everyone hikhub provisions, with where each person is (and is not yet) on the devices. */
export function PeoplePage() {
  const people = useLoad(() => loadPeople(undefined), []);
  const devices = useLoad(() => api.get('/api/v1/devices'), []);
  const [more, setMore] = useState({ loading: false, error: null });
  const list = people.data?.people ?? [];
  const deviceNames = new Map((devices.data?.devices ?? []).map((device) => [device.id, device.name]));
  const pending = list.some((person) => (person.devices ?? []).some((assignment) => assignment.state === 'pending'));

  // While anything is on its way to a device, refresh the page we have so badges turn by themselves.
  useInterval(async () => {
    try {
      const fresh = await api.get(`/api/v1/people${queryString({ include: 'devices', limit: Math.min(1000, Math.max(list.length, 1)) })}`);
      const byNo = new Map(fresh.people.map((person) => [person.employeeNo, person]));
      people.setData((current) => current && { ...current, people: current.people.map((person) => byNo.get(person.employeeNo) ?? person) });
    } catch {
      // The next tick tries again; a lasting problem shows on reload.
    }
  }, POLL_MS, pending);

  const loadMore = async () => {
    setMore({ loading: true, error: null });
    try {
      const page = await loadPeople(people.data.nextAfter);
      people.setData((current) => ({ people: [...current.people, ...page.people], nextAfter: page.nextAfter }));
      setMore({ loading: false, error: null });
    } catch (error) {
      setMore({ loading: false, error });
    }
  };

  return html`<${Page}
    title="People"
    subtitle="Who the access terminals should know: name, cards, validity, face — and whether each device has them."
    actions=${html`<${Link} class="button button-primary" href="/people/new">Add person<//>`}
  >
    <${ErrorNotice} title="Could not load people" error=${people.error} onRetry=${people.reload} />
    ${people.loading && !people.data && html`<${Loading} label="Loading people…" />`}
    ${people.data && list.length === 0 && html`<${Empty} title="No people yet.">Add a person with a face photo, then assign them to a terminal: hikhub pushes them there and shows here when it is done.<//>`}
    ${list.length > 0 &&
    html`<div class="card card-flush"><table class="table people-table">
      <thead><tr><th class="cell-thumb"><span class="visually-hidden">Face</span></th><th>Name</th><th class="hide-narrow">Cards</th><th class="hide-narrow">Validity</th><th>On devices ${pending && html`<span class="muted small">(updating…)</span>`}</th></tr></thead>
      <tbody>${list.map((person) => html`<${PersonRow} key=${person.employeeNo} person=${person} deviceNames=${deviceNames} />`)}</tbody>
    </table></div>`}
    <${ErrorNotice} error=${more.error} onRetry=${loadMore} />
    ${people.data?.nextAfter && html`<div class="more"><button type="button" class="button" disabled=${more.loading} onClick=${loadMore}>${more.loading ? 'Loading…' : 'Load more'}</button></div>`}
  <//>`;
}
