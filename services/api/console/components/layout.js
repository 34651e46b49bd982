import { html } from '../lib/html.js';
import { Link } from '../lib/router.js';
import { viewerTimeZone } from '../lib/time.js';

const NAV = [
  ['/', 'Live', (path) => path === '/' || path.startsWith('/events/')],
  ['/people', 'People', (path) => path.startsWith('/people')],
  ['/devices', 'Devices', (path) => path.startsWith('/devices')],
  ['/quarantine', 'Quarantine', (path) => path.startsWith('/quarantine')],
];

export function TopBar({ path, onSignOut }) {
  return html`<header class="topbar">
    <div class="topbar-inner">
      <${Link} href="/" class="brand"><img src="/console/icon.svg" alt="" width="24" height="24" /><span>hikhub</span><//>
      <nav class="nav" aria-label="Main">
        ${NAV.map(([href, label, active]) => html`<${Link} href=${href} class=${active(path) ? 'nav-link active' : 'nav-link'} aria-current=${active(path) ? 'page' : undefined}>${label}<//>`)}
      </nav>
      <div class="topbar-end">
        <span class="muted small tz" title="Times are shown in your browser's time zone; the device's own clock is in each event's details">${viewerTimeZone}</span>
        <button type="button" class="button button-quiet" onClick=${onSignOut}>Sign out</button>
      </div>
    </div>
  </header>`;
}

/** A page: its title, optional actions on the right, then the content. */
export function Page({ title, subtitle, actions, children }) {
  return html`<main class="page">
    <div class="page-head">
      <div>
        <h1>${title}</h1>
        ${subtitle && html`<p class="muted">${subtitle}</p>`}
      </div>
      ${actions && html`<div class="page-actions">${actions}</div>`}
    </div>
    ${children}
  </main>`;
}
